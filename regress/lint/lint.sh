# Source lint for the habits that grep can prove (STYLE.md 8 and 11):
# no unbounded string functions, secrets compared in constant time only,
# signals handled as events (raw handlers only in start-up code).

srcfiles()
{
	top=$(atf_config_get srcdir)
	find "$top/lib" "$top/bin" "$top/libexec" -name '*.c' -o -name '*.y' |
	    sort
}

atf_test_case unbounded
unbounded_head()
{
	atf_set "descr" "no strcpy, strcat, sprintf, vsprintf or gets"
	atf_set "require.config" "srcdir"
}
unbounded_body()
{
	srcfiles > files
	atf_check -s exit:1 -o empty sh -c "grep -nE \
	    '(^|[^a-z_])(strcpy|strcat|sprintf|vsprintf|gets)\(' \$(cat files)"
}

atf_test_case secret_compare
secret_compare_head()
{
	atf_set "descr" "secrets, tokens, passwords, hashes and MACs are" \
	    "compared with ct_equal (timingsafe_bcmp), never memcmp/strcmp"
	atf_set "require.config" "srcdir"
}
secret_compare_body()
{
	srcfiles > files
	atf_check -s exit:1 -o empty sh -c "grep -niE \
	    '(^|[^_a-z])(memcmp|strcmp|strncmp|strcasecmp|bcmp)\([^;]*(secret|passw|token|hmac|digest|hash|mac\b|signature)' \$(cat files)"
	# and the lint itself finds what it looks for
	echo 'if (memcmp(hmac, want, 32) == 0)' > bad.c
	atf_check -o match:memcmp grep -niE \
	    '(^|[^_a-z])(memcmp|strcmp|strncmp|strcasecmp|bcmp)\([^;]*(secret|passw|token|hmac|digest|hash|mac\b|signature)' bad.c
}

atf_test_case signals
signals_head()
{
	atf_set "descr" "signal handlers only at start-up: the SIGSYS trap" \
	    "of the debug sandbox and ignoring SIGPIPE; the rest are libevent" \
	    "signal events"
	atf_set "require.config" "srcdir"
}
signals_body()
{
	srcfiles > files
	grep -nE '(^|[^_a-z])(signal|sigaction)\(' $(cat files) |
	    sed "s|^$(atf_config_get srcdir)/||" > found
	atf_check -s exit:1 -o empty grep -vE \
	    '^lib/sandbox\.c:.*sigaction\(SIGSYS|^libexec/certaos-(db|web|mail)/(db|web|mail)\.c:.*signal\(SIGPIPE, SIG_IGN\)' found
}

atf_init_test_cases()
{
	atf_add_test_case unbounded
	atf_add_test_case secret_compare
	atf_add_test_case signals
}
