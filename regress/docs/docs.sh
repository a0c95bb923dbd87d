# docs.sh: the man pages, the sample configuration and the service files.
#
# Needs the kyua configuration variables srcdir (the repository) and
# builddir (the build tree, obj/ or obj-san/), both absolute.

PAGES="certaosd.8 certaosctl.8 certaos.conf.5"

atf_test_case mandoc_lint
mandoc_lint_head()
{
	atf_set "descr" "Every man page passes mandoc -Tlint -Wwarning"
	atf_set "require.config" "srcdir"
	atf_set "require.progs" "mandoc"
}
mandoc_lint_body()
{
	srcdir=$(atf_config_get srcdir)
	for p in ${PAGES}; do
		test -f "${srcdir}/docs/${p}" || atf_fail "docs/${p} is missing"
	done
	for p in "${srcdir}"/docs/*.[1-9]; do
		# mandoc exits 0 on style messages: any output is a failure.
		atf_check -s exit:0 -o empty -e empty mandoc -Tlint -Wwarning "${p}"
	done
}

atf_test_case man_sections
man_sections_head()
{
	atf_set "descr" "Every man page has the standard sections"
	atf_set "require.config" "srcdir"
	atf_set "require.progs" "mandoc"
}
man_sections_body()
{
	srcdir=$(atf_config_get srcdir)
	for p in ${PAGES}; do
		f="${srcdir}/docs/${p}"
		case "${p}" in
		*.5)	want="NAME DESCRIPTION FILES EXAMPLES SEE_ALSO" ;;
		*)	want="NAME SYNOPSIS DESCRIPTION FILES EXIT_STATUS"
			want="${want} EXAMPLES SEE_ALSO" ;;
		esac
		for s in ${want}; do
			s=$(echo "${s}" | tr _ ' ')
			grep -qx "\.Sh ${s}" "${f}" ||
			    atf_fail "${p} has no ${s} section"
		done
		# and it renders to text naming itself
		mandoc -Tascii "${f}" | col -b > out ||
		    atf_fail "mandoc cannot render ${p}"
		name=${p%.*}
		grep -q "^NAME" out || atf_fail "${p}: no NAME when rendered"
		grep -q "${name} -- " out || grep -q "${name} - " out ||
		    atf_fail "${p}: NAME does not name ${name}"
	done
}

atf_test_case man_options
man_options_head()
{
	atf_set "descr" "The pages document the command-line options"
	atf_set "require.config" "srcdir"
}
man_options_body()
{
	srcdir=$(atf_config_get srcdir)
	for o in D d f n v; do
		grep -q "^\.It Fl ${o}\( \|$\)" "${srcdir}/docs/certaosd.8" ||
		    atf_fail "certaosd.8 does not document -${o}"
	done
	grep -q "^\.It Fl s Ar socket" "${srcdir}/docs/certaosctl.8" ||
	    atf_fail "certaosctl.8 does not document -s"
	for c in "log brief" "log verbose" "reload" "status"; do
		grep -q "^\.It Ic ${c}\$" "${srcdir}/docs/certaosctl.8" ||
		    atf_fail "certaosctl.8 does not document ${c}"
	done
}

atf_test_case systemd_unit
systemd_unit_head()
{
	atf_set "descr" "The systemd unit has every property STYLE.md asks for"
	atf_set "require.config" "srcdir"
}
systemd_unit_body()
{
	srcdir=$(atf_config_get srcdir)
	u="${srcdir}/etc/certaosd.service"
	for l in \
	    "Type=exec" \
	    "ExecStartPre=/usr/local/sbin/certaosd -n" \
	    "ExecStart=/usr/local/sbin/certaosd -d" \
	    'ExecReload=/bin/kill -HUP $MAINPID' \
	    "KillMode=mixed" "Restart=on-failure" \
	    "RuntimeDirectory=certaos" "UMask=0077" \
	    "NoNewPrivileges=yes" "ProtectSystem=strict" "ProtectHome=yes" \
	    "PrivateTmp=yes" "PrivateDevices=yes" \
	    "ProtectKernelTunables=yes" "ProtectKernelModules=yes" \
	    "ProtectKernelLogs=yes" "ProtectControlGroups=yes" \
	    "ProtectClock=yes" "ProtectHostname=yes" \
	    "RestrictNamespaces=yes" "RestrictRealtime=yes" \
	    "RestrictSUIDSGID=yes" "LockPersonality=yes" \
	    "MemoryDenyWriteExecute=yes" \
	    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" \
	    "SystemCallArchitectures=native" \
	    "SystemCallFilter=@system-service"; do
		grep -qxF "${l}" "${u}" || atf_fail "unit lacks: ${l}"
	done
	# What the children's own sandboxing calls, outside @system-service.
	for c in chroot seccomp landlock_create_ruleset landlock_add_rule \
	    landlock_restrict_self; do
		grep "^SystemCallFilter=" "${u}" | tr ' =' '\n\n' |
		    grep -qx "${c}" || atf_fail "SystemCallFilter lacks ${c}"
	done
	# The bounding set keeps what privsep needs, and only that.
	caps=$(grep "^CapabilityBoundingSet=" "${u}" | sed 's/^[^=]*=//' |
	    tr ' ' '\n' | sort | tr '\n' ' ')
	atf_check_equal "${caps}" \
	    "CAP_CHOWN CAP_KILL CAP_NET_BIND_SERVICE CAP_SETGID CAP_SETUID CAP_SYS_CHROOT "
}

atf_test_case systemd_verify
systemd_verify_head()
{
	atf_set "descr" "systemd-analyze verify accepts the unit, run" \
	    "against the build tree's certaosd and the source man pages"
	atf_set "require.config" "srcdir builddir"
}
systemd_verify_body()
{
	srcdir=$(atf_config_get srcdir)
	builddir=$(atf_config_get builddir)
	command -v systemd-analyze >/dev/null 2>&1 ||
	    atf_skip "systemd-analyze is not installed"
	test -x "${builddir}/bin/certaosd" ||
	    atf_fail "${builddir}/bin/certaosd is not built"
	# verify wants the Exec binaries to exist and runs man(1) on every
	# Documentation= page: point both at this tree.
	mkdir -p man/man5 man/man8 unit
	cp "${srcdir}"/docs/*.5 man/man5/
	cp "${srcdir}"/docs/*.8 man/man8/
	sed "s|/usr/local/sbin/certaosd|${builddir}/bin/certaosd|g" \
	    "${srcdir}/etc/certaosd.service" > unit/certaosd.service
	grep -q "^ExecStart=${builddir}/bin/certaosd -d\$" \
	    unit/certaosd.service || atf_fail "ExecStart was not rewritten"
	# verify exits 0 on unknown keys, only warning: any output fails.
	atf_check -s exit:0 -o empty -e empty \
	    env MANPATH="$(pwd)/man" SYSTEMD_LOG_LEVEL=notice \
	    systemd-analyze verify "$(pwd)/unit/certaosd.service"
}

# The names in a systemd syscall group, groups expanded, one a line.
syscall_group()
{
	systemd-analyze syscall-filter "$1" | sed -n '2,$p' |
	    sed 's/^[[:space:]]*//' | grep -v '^#' | grep -v '^$' |
	    while read -r w rest; do
		case "${w}" in
		@*)	syscall_group "${w}" ;;
		*)	echo "${w}" ;;
		esac
	done
}

atf_test_case systemd_syscalls
systemd_syscalls_head()
{
	atf_set "descr" "The unit's SystemCallFilter allows every call the" \
	    "children's own seccomp filters allow, and what privsep calls"
	atf_set "require.config" "srcdir"
}
systemd_syscalls_body()
{
	srcdir=$(atf_config_get srcdir)
	command -v systemd-analyze >/dev/null 2>&1 ||
	    atf_skip "systemd-analyze is not installed"
	# What the unit allows: its SystemCallFilter= lines, groups expanded.
	for w in $(grep "^SystemCallFilter=" "${srcdir}/etc/certaosd.service" |
	    sed 's/^[^=]*=//'); do
		case "${w}" in
		~*)	atf_fail "the unit uses a deny list: ${w}" ;;
		@*)	syscall_group "${w}" ;;
		*)	echo "${w}" ;;
		esac
	done | sort -u > allowed
	test $(wc -l < allowed) -gt 100 ||
	    atf_fail "SystemCallFilter expands to too few calls"
	# What the children allow themselves (lib/sandbox.c, production
	# lists: the sanitizer additions never run under systemd), and what
	# the privilege drop and the sandbox set-up call.
	awk '/^static const char \*const sc_[a-z]*\[\]/ {
		inlist = ($0 !~ /sc_sanitize/)
	}
	inlist { print }
	/};/ { inlist = 0 }' "${srcdir}/lib/sandbox.c" |
	    grep -o '"[a-z0-9_]*"' | tr -d '"' > needed
	test $(wc -l < needed) -ge 20 ||
	    atf_fail "no seccomp lists found in lib/sandbox.c"
	for c in socket bind listen chown fchown kill execve setgroups \
	    setresgid setresuid chroot chdir prctl seccomp \
	    landlock_create_ruleset landlock_add_rule landlock_restrict_self; do
		echo "${c}"
	done >> needed
	sort -u needed | while read -r c; do
		grep -qx "${c}" allowed || echo "${c}"
	done > missing
	test -s missing && atf_fail "the unit's SystemCallFilter blocks:" \
	    $(cat missing)
	return 0
}

atf_test_case rc_script
rc_script_head()
{
	atf_set "descr" "The rc.d script is rc.subr-shaped and valid sh"
	atf_set "require.config" "srcdir"
}
rc_script_body()
{
	srcdir=$(atf_config_get srcdir)
	r="${srcdir}/etc/rc.d/certaosd"
	atf_check -s exit:0 -o empty -e empty sh -n "${r}"
	for l in 'daemon="/usr/local/sbin/certaosd"' 'daemon_flags=' \
	    '. /etc/rc.d/rc.subr' 'rc_pre() {' \
	    '	${daemon} -n ${daemon_flags}' 'rc_cmd $1'; do
		grep -qxF "${l}" "${r}" || atf_fail "rc.d script lacks: ${l}"
	done
	# rc.subr must be sourced after daemon= and before rc_cmd.
	awk '/^daemon=/ { d = NR } /^\. \/etc\/rc\.d\/rc\.subr/ { s = NR }
	    /^rc_cmd/ { c = NR } END { exit !(d < s && s < c) }' "${r}" ||
	    atf_fail "rc.d script statements out of order"
}

atf_test_case sample_config
sample_config_head()
{
	atf_set "descr" "etc/certaos.conf passes certaosd -n, and its" \
	    "normalized form parses back to the same output"
	atf_set "require.config" "srcdir builddir"
	atf_set "require.user" "root"
}
sample_config_body()
{
	srcdir=$(atf_config_get srcdir)
	builddir=$(atf_config_get builddir)
	d="${builddir}/bin/certaosd"
	test -x "${d}" || atf_fail "${d} is not built"
	# The sample names /etc/certaos/secret: point it at a fresh one
	# (root-owned, mode 0600, 32 bytes) and change nothing else.
	(umask 077; head -c 32 /dev/urandom > secret)
	sed "s|\"/etc/certaos/secret\"|\"$(pwd)/secret\"|" \
	    "${srcdir}/etc/certaos.conf" > certaos.conf
	test $(grep -c "$(pwd)/secret" certaos.conf) -eq 1 ||
	    atf_fail "the sample has no secret file /etc/certaos/secret"
	atf_check -s exit:0 -o empty -e match:"configuration OK" \
	    "${d}" -n -f certaos.conf
	atf_check -s exit:0 -o save:norm1 -e ignore "${d}" -nv -f certaos.conf
	test -s norm1 || atf_fail "-nv printed nothing"
	atf_check -s exit:0 -o save:norm2 -e ignore "${d}" -nv -f norm1
	atf_check -s exit:0 diff -u norm1 norm2
	# what the sample sets shows in the normalized form
	for w in "127.0.0.1" 8080 _certaos /var/empty 19456; do
		grep -q -- "${w}" norm1 ||
		    atf_fail "normalized config lacks ${w}"
	done
	# -D overrides the addr macro of the sample
	atf_check -s exit:0 -o save:norm3 -e ignore \
	    "${d}" -nv -D addr=127.0.0.2 -f certaos.conf
	grep -q "127.0.0.2" norm3 || atf_fail "-D addr= did not take"
}

atf_init_test_cases()
{
	atf_add_test_case mandoc_lint
	atf_add_test_case man_sections
	atf_add_test_case man_options
	atf_add_test_case systemd_unit
	atf_add_test_case systemd_verify
	atf_add_test_case systemd_syscalls
	atf_add_test_case rc_script
	atf_add_test_case sample_config
}
