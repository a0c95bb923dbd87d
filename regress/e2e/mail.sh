# End to end: the outbox and its delivery by certaos-mail, through a
# directory, a sendmail command that fails before it works, and an SMTP
# relay with STARTTLS and AUTH (regress/tools/smtpsink.py).

. "$(atf_get_srcdir)/lib.subr"

# mail_spool: a directory the unprivileged mail process may write, in
# $D, outside the test's work directory (closed to other users)
mail_spool()
{
	D=$(mktemp -d /tmp/certaos-e2e-mail.XXXXXX)
	echo "$D" > "$W/spool"
	chmod 755 "$D"
	if [ "$(id -u)" = 0 ]; then
		chown _certaos "$D"
	fi
}

# mail_wait file seconds: wait for a file to appear
mail_wait()
{
	_i=0
	while [ ! -e "$1" ]; do
		_i=$((_i + 1))
		[ $_i -lt $(( $2 * 5 )) ] || return 1
		sleep 0.2
	done
}

# mail_row sql: one value from the test's outbox
mail_sql()
{
	e2e_psql "$DB" -At -c "$1"
}

# mail_check expected sql: the value, compared
mail_check()
{
	atf_check_equal "$1" "$(mail_sql "$2")"
}

mail_cleanup()
{
	. "$(atf_get_srcdir)/lib.subr"
	W=$(pwd)
	[ -f "$W/sink.pid" ] && kill "$(cat "$W/sink.pid")" 2>/dev/null
	e2e_cleanup
	[ -f "$W/spool" ] && rm -rf "$(cat "$W/spool")"
	true
}

atf_test_case dir cleanup
dir_head()
{
	atf_set "descr" "certaosctl mail test goes through the outbox to a" \
	    "file in the mail dir, with the headers and the body"
	e2e_head
}
dir_body()
{
	e2e_init
	mail_spool
	e2e_conf "mail dir \"$D\"" "mail from \"Auth <auth@example.org>\"" \
	    "mail app-name \"Exämple\""
	e2e_start
	atf_check -o inline:'mail test: queued for alice@example.net\n' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" mail test alice@example.net
	id=$(mail_sql "select id from mail_outbox")
	mail_wait "$D/$id.eml" 10 || {
		cat "$W/daemon.log" >&2
		atf_fail "no $D/$id.eml"
	}
	f=$D/$id.eml
	atf_check -o match:'^From: Auth <auth@example.org>$' cat "$f"
	atf_check -o match:'^To: alice@example.net$' cat "$f"
	# the app name is not ASCII: an RFC 2047 word
	atf_check -o match:'^Subject: =\?UTF-8\?B\?' cat "$f"
	atf_check -o match:'^Date: [A-Z][a-z][a-z], [0-9]{2} [A-Z][a-z][a-z] 20[0-9]{2} ' \
	    cat "$f"
	atf_check -o match:'^Message-ID: <[^>]+@example.org>$' cat "$f"
	atf_check -o match:'^MIME-Version: 1.0$' cat "$f"
	atf_check -o match:'^Content-Type: text/plain; charset=utf-8$' cat "$f"
	atf_check -o match:'^Content-Transfer-Encoding: quoted-printable$' \
	    cat "$f"
	# the body: quoted-printable, the recipient rendered into it
	atf_check -o match:'Ex=C3=A4mple' cat "$f"
	atf_check -o match:'sent to alice@example.net' cat "$f"
	python3 -c '
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"),
    policy=email.policy.default)
print(m["subject"])
print(m.get_content().splitlines()[0])' "$f" > "$W/parsed"
	atf_check -o inline:'Exämple test message\nThis is a test message from Exämple, sent to alice@example.net by\n' \
	    cat "$W/parsed"
	# the row is sent, once
	mail_check '1|t|f' \
	    "select attempts, sent_at is not null, failed_at is not null from mail_outbox"
	# the queue lists pending and failed rows only
	atf_check -o not-match:'alice' "$CERTAOSCTL" -s "$W/ctl.sock" \
	    mail queue
	# db never held the message in clear: the sealed column does not
	# contain what the rendered message shows
	mail_check 'f|f' \
	    "select position(convert_to('alice@example.net', 'UTF8') in sealed) > 0,
	     position(convert_to('test', 'UTF8') in sealed) > 0 from mail_outbox"
}
dir_cleanup()
{
	mail_cleanup
}

atf_test_case templates cleanup
templates_head()
{
	atf_set "descr" "mail templates: a template there replaces the" \
	    "shipped one whole (no HTML part unless it has one); a reload" \
	    "reads them again; the others stay the shipped ones"
	e2e_head
}
templates_body()
{
	e2e_init
	mail_spool
	mkdir "$W/tmpl"
	chmod 755 "$W" "$W/tmpl"
	printf 'Subject: Ours for {{email}}\n\nOur own body, {{app}}.\n' \
	    > "$W/tmpl/test.txt"
	chmod 644 "$W/tmpl/test.txt"
	e2e_conf "mail dir \"$D\"" "mail from \"auth@example.org\"" \
	    "mail templates \"$W/tmpl\""
	e2e_start
	atf_check -o ignore "$CERTAOSCTL" -s "$W/ctl.sock" mail test \
	    bob@example.net
	id=$(mail_sql "select max(id) from mail_outbox")
	mail_wait "$D/$id.eml" 10 || atf_fail "no $D/$id.eml"
	atf_check -o match:'^Subject: Ours for bob@example.net$' cat "$D/$id.eml"
	atf_check -o match:'Our own body, CertaOS\.' cat "$D/$id.eml"
	atf_check -o not-match:'text/html' cat "$D/$id.eml"

	# changed on disk: the running daemon keeps what it read, a reload
	# takes the new text
	printf 'Subject: Reloaded\n\nAgain.\n' > "$W/tmpl/test.txt"
	atf_check -o match:'reloaded' "$CERTAOSCTL" -s "$W/ctl.sock" reload
	atf_check -o ignore "$CERTAOSCTL" -s "$W/ctl.sock" mail test \
	    bob@example.net
	id=$(mail_sql "select max(id) from mail_outbox")
	mail_wait "$D/$id.eml" 10 || atf_fail "no $D/$id.eml"
	atf_check -o match:'^Subject: Reloaded$' cat "$D/$id.eml"

	# a template the directory lacks is the shipped one, HTML and all
	atf_check_equal 200 "$(curl -s -o /dev/null -w '%{http_code}' \
	    -H 'content-type: application/json' \
	    -H "origin: http://127.0.0.1:$PORT" --data-binary \
	    '{"name":"Cy","email":"cy@example.net","password":"password123"}' \
	    "http://127.0.0.1:$PORT/api/auth/sign-up/email")"
	n=0
	until [ "$(mail_sql "select count(*) from mail_outbox
	    where template = 'verify-email' and sent_at is not null")" = 1 ]; do
		n=$((n + 1))
		[ $n -lt 50 ] || atf_fail "the verification mail was not sent"
		sleep 0.2
	done
	id=$(mail_sql "select id from mail_outbox where template = 'verify-email'")
	atf_check -o match:'^Subject: Confirm your email address for CertaOS$' \
	    cat "$D/$id.eml"
	atf_check -o match:'text/html' cat "$D/$id.eml"
}
templates_cleanup()
{
	mail_cleanup
}

atf_test_case refused cleanup
refused_head()
{
	atf_set "descr" "addresses with a line break, a space or no @ are" \
	    "refused by certaosctl mail test; nothing is queued"
	e2e_head
}
refused_body()
{
	e2e_init
	mail_spool
	e2e_conf "mail dir \"$D\"" "mail from \"auth@example.org\""
	e2e_start
	nl='
'
	atf_check -s exit:1 -e match:'not an email address' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" mail test "a@b.example${nl}Bcc: x@y.example"
	atf_check -s exit:1 -e match:'not an email address' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" mail test "a@b.example$(printf '\r')"
	atf_check -s exit:1 -e match:'not an email address' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" mail test "no-at-sign"
	mail_check '0' "select count(*) from mail_outbox"
}
refused_cleanup()
{
	mail_cleanup
}

atf_test_case sendmail_retry cleanup
sendmail_retry_head()
{
	atf_set "descr" "a sendmail command that fails twice is retried" \
	    "with backoff and the message arrives; attempts counts 3"
	e2e_head
}
sendmail_retry_body()
{
	e2e_init
	mail_spool
	cat > "$D/sendmail" <<-EOF2
	#!/bin/sh
	# fails the first two times, then keeps the message
	n=\$(cat "$D/count" 2>/dev/null || echo 0)
	n=\$((n + 1))
	echo \$n > "$D/count"
	[ \$n -le 2 ] && exit 75
	[ "\$1" = "-t" ] && [ "\$2" = "-i" ] || exit 64
	cat > "$D/out.tmp" && mv "$D/out.tmp" "$D/out.eml"
	EOF2
	chmod 755 "$D/sendmail"
	e2e_conf "mail sendmail \"$D/sendmail -t -i\"" \
	    "mail from \"auth@example.org\"" "mail retry 1s attempts 5"
	e2e_start
	"$CERTAOSCTL" -s "$W/ctl.sock" mail test bob@example.net >/dev/null ||
	    atf_fail "mail test"
	mail_wait "$D/out.eml" 40 || {
		cat "$W/daemon.log" >&2
		atf_fail "the message never arrived"
	}
	atf_check -o match:'^To: bob@example.net$' cat "$D/out.eml"
	atf_check -o inline:'3\n' cat "$D/count"
	i=0
	until [ "$(mail_sql 'select sent_at is not null from mail_outbox')" = t ]; do
		i=$((i + 1))
		[ $i -lt 25 ] || atf_fail "the row is not marked sent"
		sleep 0.2
	done
	mail_check '3|t|sendmail exited with status 75' \
	    "select attempts, failed_at is null, last_error from mail_outbox"
	atf_check -o match:'temporary failure: sendmail exited with status 75' \
	    cat "$W/daemon.log"
}
sendmail_retry_cleanup()
{
	mail_cleanup
}

atf_test_case sendmail_gives_up cleanup
sendmail_gives_up_head()
{
	atf_set "descr" "after the last attempt a row is failed, kept," \
	    "and listed by certaosctl mail queue"
	e2e_head
}
sendmail_gives_up_body()
{
	e2e_init
	mail_spool
	printf '#!/bin/sh\nexit 1\n' > "$D/sendmail"
	chmod 755 "$D/sendmail"
	e2e_conf "mail sendmail \"$D/sendmail\"" \
	    "mail from \"auth@example.org\"" "mail retry 1s attempts 2"
	e2e_start
	"$CERTAOSCTL" -s "$W/ctl.sock" mail test carol@example.net >/dev/null ||
	    atf_fail "mail test"
	i=0
	until [ "$(mail_sql 'select failed_at is not null from mail_outbox')" = t ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || atf_fail "the row never failed"
		sleep 0.2
	done
	mail_check '2|f' \
	    "select attempts, sent_at is not null from mail_outbox"
	atf_check -o match:'carol@example.net +test +2 +failed +sendmail exited with status 1' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" mail queue
}
sendmail_gives_up_cleanup()
{
	mail_cleanup
}

# smtp_sink [smtpsink args]: start the sink on $SPORT with a certificate
smtp_sink()
{
	SPORT=$(e2e_free_port)
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/key.pem" \
	    -out "$D/cert.pem" -days 1 -subj /CN=localhost \
	    -addext subjectAltName=DNS:localhost 2>/dev/null ||
	    atf_fail "openssl req"
	chmod 644 "$D/cert.pem"
	mkdir "$D/sink"
	python3 "$(atf_config_get srcdir)/regress/tools/smtpsink.py" \
	    --port "$SPORT" --out "$D/sink" --cert "$D/cert.pem" \
	    --key "$D/key.pem" "$@" 2>"$W/sink.err" &
	echo $! > "$W/sink.pid"
	mail_wait "$D/sink/ready" 10 || atf_fail "smtpsink did not start"
}

atf_test_case smtp cleanup
smtp_head()
{
	atf_set "descr" "SMTP with STARTTLS, a verified certificate and" \
	    "AUTH PLAIN delivers the message"
	e2e_head "" "python3"
}
smtp_body()
{
	e2e_init
	mail_spool
	smtp_sink --user relayuser --password 'relay pass'
	e2e_conf "mail smtp \"localhost\" port $SPORT tls starttls ca \"$D/cert.pem\" auth \"relayuser\" password \"relay pass\"" \
	    "mail from \"CertaOS <auth@example.org>\""
	e2e_start
	"$CERTAOSCTL" -s "$W/ctl.sock" mail test dave@example.net >/dev/null ||
	    atf_fail "mail test"
	mail_wait "$D/sink/1.eml" 15 || {
		cat "$W/daemon.log" "$D/sink/session.log" >&2
		atf_fail "the relay got no message"
	}
	atf_check -o match:'^To: dave@example.net' cat "$D/sink/1.eml"
	# TLS before AUTH, the envelope from the From address
	atf_check -o match:'^STARTTLS$' cat "$D/sink/session.log"
	atf_check -o match:'^\(authenticated relayuser\)$' \
	    cat "$D/sink/session.log"
	atf_check -o match:'^MAIL FROM:<auth@example.org>$' \
	    cat "$D/sink/session.log"
	atf_check -o match:'^RCPT TO:<dave@example.net>$' \
	    cat "$D/sink/session.log"
	i=0
	until [ "$(mail_sql 'select sent_at is not null from mail_outbox')" = t ]; do
		i=$((i + 1))
		[ $i -lt 25 ] || atf_fail "the row is not marked sent"
		sleep 0.2
	done
}
smtp_cleanup()
{
	mail_cleanup
}

atf_test_case smtp_untrusted cleanup
smtp_untrusted_head()
{
	atf_set "descr" "a relay whose certificate is not trusted gets" \
	    "nothing: a temporary failure, the row stays pending"
	e2e_head "" "python3"
}
smtp_untrusted_body()
{
	e2e_init
	mail_spool
	smtp_sink
	e2e_conf "mail smtp \"localhost\" port $SPORT" \
	    "mail from \"auth@example.org\"" "mail retry 1h attempts 3"
	e2e_start
	"$CERTAOSCTL" -s "$W/ctl.sock" mail test erin@example.net >/dev/null ||
	    atf_fail "mail test"
	i=0
	until [ "$(mail_sql 'select attempts from mail_outbox')" = 1 ]; do
		i=$((i + 1))
		[ $i -lt 75 ] || atf_fail "no attempt"
		sleep 0.2
	done
	mail_sql "select sent_at is not null, failed_at is not null, last_error from mail_outbox" > "$W/row"
	atf_check -o match:'^f\|f\|smtp localhost: TLS: certificate of localhost not verified' \
	    cat "$W/row"
	[ ! -e "$D/sink/1.eml" ] || atf_fail "the message went anyway"
}
smtp_untrusted_cleanup()
{
	mail_cleanup
}

atf_test_case smtp_rcpt_5xx cleanup
smtp_rcpt_5xx_head()
{
	atf_set "descr" "a 5xx answer to RCPT fails the row for good"
	e2e_head "" "python3"
}
smtp_rcpt_5xx_body()
{
	e2e_init
	mail_spool
	smtp_sink --reject nobody@
	e2e_conf "mail smtp \"localhost\" port $SPORT tls noverify" \
	    "mail from \"auth@example.org\""
	e2e_start
	"$CERTAOSCTL" -s "$W/ctl.sock" mail test nobody@example.net >/dev/null ||
	    atf_fail "mail test"
	i=0
	until [ "$(mail_sql 'select failed_at is not null from mail_outbox')" = t ]; do
		i=$((i + 1))
		[ $i -lt 75 ] || atf_fail "the row did not fail"
		sleep 0.2
	done
	mail_check '1|smtp localhost: 550 no such user' \
	    "select attempts, last_error from mail_outbox"
}
smtp_rcpt_5xx_cleanup()
{
	mail_cleanup
}

atf_test_case off cleanup
off_head()
{
	atf_set "descr" "without a mail method the row is queued and waits"
	e2e_head
}
off_body()
{
	e2e_init
	e2e_conf
	e2e_start
	atf_check -o ignore "$CERTAOSCTL" -s "$W/ctl.sock" mail test \
	    frank@example.net
	sleep 6
	mail_check '0|f|f' \
	    "select attempts, sent_at is not null, failed_at is not null from mail_outbox"
	atf_check -o match:'frank@example.net +test +0 ' \
	    "$CERTAOSCTL" -s "$W/ctl.sock" mail queue
}
off_cleanup()
{
	mail_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case dir
	atf_add_test_case templates
	atf_add_test_case refused
	atf_add_test_case sendmail_retry
	atf_add_test_case sendmail_gives_up
	atf_add_test_case smtp
	atf_add_test_case smtp_untrusted
	atf_add_test_case smtp_rcpt_5xx
	atf_add_test_case off
}
