# End to end: the process tree, privileges, sandboxes, and fail-closed.

. "$(atf_get_srcdir)/lib.subr"

atf_test_case tree cleanup
tree_head()
{
	atf_set "descr" "four roles, seven processes, dropped to _certaos, web and keys" \
	    "chrooted, seccomp on, only the descriptors each role needs"
	e2e_head
	atf_set "require.user" "root"
}
tree_body()
{
	e2e_init
	e2e_conf
	e2e_start
	m=$(e2e_pid)
	atf_check -o inline:'certaosd\n' cat /proc/$m/comm
	atf_check -o match:'^Uid:[[:space:]]+0[[:space:]]' \
	    grep '^Uid:' /proc/$m/status
	e2e_children | sort -k2 > "$W/children"
	atf_check -o inline:'certaos-db\ncertaos-keys\ncertaos-keys\ncertaos-keys\ncertaos-mail\ncertaos-web\ncertaos-web\n' \
	    awk '{print $2}' "$W/children"
	uid=$(id -u _certaos)
	gid=$(id -g _certaos)
	while read -r pid comm; do
		# real, effective, saved and filesystem ids, all four
		atf_check -o match:"^Uid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid\$" \
		    grep '^Uid:' /proc/$pid/status
		atf_check -o match:"^Gid:[[:space:]]+$gid[[:space:]]+$gid[[:space:]]+$gid[[:space:]]+$gid\$" \
		    grep '^Gid:' /proc/$pid/status
		atf_check -o match:"^Groups:[[:space:]]+$gid[[:space:]]*\$" \
		    grep '^Groups:' /proc/$pid/status
		atf_check -o match:'^NoNewPrivs:[[:space:]]+1$' \
		    grep '^NoNewPrivs:' /proc/$pid/status
		atf_check -o match:'^Seccomp:[[:space:]]+2$' \
		    grep '^Seccomp:' /proc/$pid/status
		root=$(readlink /proc/$pid/root)
		# descriptors: stdio, the channels, and what the role holds
		fds=$(ls /proc/$pid/fd | sort -n | tr '\n' ' ')
		sockets=0
		for fd in $(ls /proc/$pid/fd); do
			t=$(readlink /proc/$pid/fd/$fd)
			case $t in
			socket:*|anon_inode:*|/dev/null|/dev/pts/*|pipe:*)
				;;
			*)	case $fd in
				0|1|2) ;;
				*) atf_fail "$comm holds $t on fd $fd" ;;
				esac
				;;
			esac
		done
		case $comm in
		certaos-web)
			atf_check_equal /var/empty "$root"
			;;
		certaos-keys)
			atf_check_equal /var/empty "$root"
			# keys[0]: channels to the parent, db, two webs and
			# mail; the password workers: no mail, and a nice
			# value that lets the session path go first
			n=$(for fd in $(ls /proc/$pid/fd); do
				readlink /proc/$pid/fd/$fd; done | grep -c '^socket:')
			i=$(e2e_instance "$pid")
			nice=$(sed 's/^.*) //' /proc/$pid/stat | cut -d' ' -f17)
			if [ "$i" = 0 ]; then
				[ "$n" -eq 5 ] ||
				    atf_fail "keys[0] holds $n sockets: $fds"
				atf_check_equal 0 "$nice"
			else
				[ "$n" -eq 4 ] ||
				    atf_fail "keys[$i] holds $n sockets: $fds"
				atf_check_equal 10 "$nice"
			fi
			# no network sockets at all (invariant 3)
			for fd in $(ls /proc/$pid/fd); do
				ino=$(readlink /proc/$pid/fd/$fd |
				    sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p')
				[ -n "$ino" ] || continue
				if grep -q " $ino " /proc/net/tcp \
				    /proc/net/tcp6 /proc/net/udp \
				    /proc/net/udp6; then
					atf_fail "keys holds an inet socket"
				fi
			done
			;;
		certaos-db)
			atf_check_equal / "$root"
			;;
		certaos-mail)
			# runs sendmail: no chroot; idle, only its channels
			# to the parent, db and keys
			atf_check_equal / "$root"
			n=$(for fd in $(ls /proc/$pid/fd); do
				readlink /proc/$pid/fd/$fd; done | grep -c '^socket:')
			[ "$n" -eq 3 ] || atf_fail "mail holds $n sockets: $fds"
			;;
		esac
	done < "$W/children"
	# keys may not be traced or dumped
	kp=$(e2e_child_pid certaos-keys)
	atf_check -o match:'^0 ' sh -c "stat -c '%u %g' /proc/$kp/mem"
}
tree_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	e2e_cleanup
}

# kill -9 of one role takes the whole daemon down, with a log line
kill_role()
{
	e2e_init
	e2e_conf
	e2e_start
	pid=$(e2e_child_pid "$1")
	[ -n "$pid" ] || atf_fail "no $1 process"
	pids=$(e2e_children | awk '{print $1}')
	kill -KILL "$pid"
	e2e_wait_exit 15 || atf_fail "certaosd still running"
	[ "$E2E_STATUS" -eq 1 ] ||
	    atf_fail "certaosd exited $E2E_STATUS after losing $1"
	atf_check -o match:"lost child: $2\[[0-9]+\] pid $pid terminated; signal 9" \
	    cat "$W/daemon.log"
	# and nothing is left behind
	for p in $pids; do
		kill -0 "$p" 2>/dev/null && atf_fail "child $p survived"
	done
	atf_check -s not-exit:0 -o ignore -e ignore \
	    curl -s "http://127.0.0.1:$PORT/health"
}

atf_test_case kill_web cleanup
kill_web_head() { e2e_head; atf_set "descr" "losing a web worker is fatal"; }
kill_web_body() { kill_role certaos-web web; }
kill_web_cleanup() { . "$(atf_get_srcdir)/lib.subr"; e2e_cleanup; }

atf_test_case kill_keys cleanup
kill_keys_head() { e2e_head; atf_set "descr" "losing keys is fatal"; }
kill_keys_body() { kill_role certaos-keys keys; }
kill_keys_cleanup() { . "$(atf_get_srcdir)/lib.subr"; e2e_cleanup; }

atf_test_case kill_mail cleanup
kill_mail_head() { e2e_head; atf_set "descr" "losing mail is fatal"; }
kill_mail_body() { kill_role certaos-mail mail; }
kill_mail_cleanup() { . "$(atf_get_srcdir)/lib.subr"; e2e_cleanup; }

atf_test_case kill_db cleanup
kill_db_head() { e2e_head; atf_set "descr" "losing db is fatal"; }
kill_db_body() { kill_role certaos-db db; }
kill_db_cleanup() { . "$(atf_get_srcdir)/lib.subr"; e2e_cleanup; }

# A forbidden system call right after the sandbox: death by SIGSYS (31).
seccomp_role()
{
	e2e_init
	e2e_conf
	CERTAOS_REGRESS_SYSCALL=$1 "$CERTAOSD" -d -f "$W/certaos.conf" \
	    >"$W/daemon.log" 2>&1 &
	echo $! > "$W/daemon.pid"
	e2e_wait_exit 20 || atf_fail "certaosd still running"
	[ "$E2E_STATUS" -eq 1 ] || atf_fail "certaosd exited $E2E_STATUS"
	atf_check -o match:"lost child: $1\[[0-9]+\] pid [0-9]+ terminated; signal 31" \
	    cat "$W/daemon.log"
	atf_check -o not-match:'forbidden call was allowed' cat "$W/daemon.log"
}

atf_test_case seccomp_web cleanup
seccomp_web_head() { e2e_head; atf_set "descr" "web may not socket()"; }
seccomp_web_body() { seccomp_role web; }
seccomp_web_cleanup() { . "$(atf_get_srcdir)/lib.subr"; e2e_cleanup; }

atf_test_case seccomp_keys cleanup
seccomp_keys_head() { e2e_head; atf_set "descr" "keys may not socket()"; }
seccomp_keys_body() { seccomp_role keys; }
seccomp_keys_cleanup() { . "$(atf_get_srcdir)/lib.subr"; e2e_cleanup; }

atf_test_case seccomp_db cleanup
seccomp_db_head() { e2e_head; atf_set "descr" "db may not listen()"; }
seccomp_db_body() { seccomp_role db; }
seccomp_db_cleanup() { . "$(atf_get_srcdir)/lib.subr"; e2e_cleanup; }

atf_test_case seccomp_mail cleanup
seccomp_mail_head() { e2e_head; atf_set "descr" "mail may not listen()"; }
seccomp_mail_body() { seccomp_role mail; }
seccomp_mail_cleanup() { . "$(atf_get_srcdir)/lib.subr"; e2e_cleanup; }

atf_test_case term cleanup
term_head() { e2e_head; atf_set "descr" "SIGTERM stops every process, exit 0"; }
term_body()
{
	e2e_init
	e2e_conf
	e2e_start
	pids=$(e2e_children | awk '{print $1}')
	kill -TERM "$(e2e_pid)"
	e2e_wait_exit 15 || atf_fail "certaosd still running"
	atf_check_equal 0 "$E2E_STATUS"
	for p in $pids; do
		kill -0 "$p" 2>/dev/null && atf_fail "child $p survived"
	done
	atf_check -s exit:1 test -e "$W/ctl.sock"
}
term_cleanup() { . "$(atf_get_srcdir)/lib.subr"; e2e_cleanup; }

atf_test_case unprivileged cleanup
unprivileged_head()
{
	atf_set "descr" "started by a normal user (make run), certaosd" \
	    "serves, says once per process that it keeps its user, and" \
	    "still sandboxes every child with seccomp"
	e2e_head
	atf_set "require.user" "root"
}
unprivileged_body()
{
	e2e_init
	# a directory of nobody's own for what it must read and create
	d=$(mktemp -d /tmp/certaos-e2e-user.XXXXXX)
	echo "$d" > "$W/userdir"
	chmod 755 "$d"
	cp "$W/secret" "$d/secret"
	chown nobody "$d" "$d/secret"
	chmod 600 "$d/secret"
	e2e_conf
	sed -e "s|$W/secret|$d/secret|" -e "s|$W/ctl.sock|$d/ctl.sock|" \
	    "$W/certaos.conf" > "$d/certaos.conf"
	chown nobody "$d/certaos.conf"
	runuser -u nobody -- "$CERTAOSD" -d -f "$d/certaos.conf" \
	    >"$W/daemon.log" 2>&1 &
	echo $! > "$W/daemon.pid"
	e2e_wait_health 200 30 || {
		cat "$W/daemon.log" >&2
		atf_fail "certaosd as nobody did not become healthy"
	}
	atf_check -o match:'running unprivileged' cat "$W/daemon.log"
	nobody=$(id -u nobody)
	atf_check -o inline:'7\n' sh -c \
	    "pgrep -u nobody -f 'certaos-(web|keys|db|mail)' | wc -l"
	for pid in $(pgrep -u nobody -f 'certaos-(web|keys|db|mail)'); do
		atf_check -o match:'^Seccomp:[[:space:]]+2$' \
		    grep '^Seccomp:' /proc/$pid/status
		atf_check -o match:"^Uid:[[:space:]]+$nobody[[:space:]]" \
		    grep '^Uid:' /proc/$pid/status
	done
	atf_check -o match:'^database: reachable$' \
	    runuser -u nobody -- "$CERTAOSCTL" -s "$d/ctl.sock" status
}
unprivileged_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	# runuser's child is certaosd: stop it by the socket's owner
	if [ -f userdir ]; then
		d=$(cat userdir)
		pkill -TERM -u nobody -x certaosd 2>/dev/null
		sleep 1
		rm -rf "$d"
	fi
	e2e_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case unprivileged
	atf_add_test_case tree
	atf_add_test_case kill_web
	atf_add_test_case kill_keys
	atf_add_test_case kill_db
	atf_add_test_case kill_mail
	atf_add_test_case seccomp_web
	atf_add_test_case seccomp_keys
	atf_add_test_case seccomp_db
	atf_add_test_case seccomp_mail
	atf_add_test_case term
}
