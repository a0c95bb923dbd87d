#
# config.sh: golden tests of the configuration grammar through the real
# daemon, as OpenBSD's regress/usr.sbin/bgpd/config:
#
#   good-N.conf	"certaosd -nv -f good-N.conf" exits 0, prints good-N.out
#		on stdout and "configuration OK" on stderr; that output,
#		parsed again, prints itself (print_config is idempotent).
#   bad-N.conf	"certaosd -n -f bad-N.conf" exits 1, prints nothing on
#		stdout and exactly bad-N.err on stderr: every error of the
#		file, as "certaosd: bad-N.conf:LINE: message".
#   sample	etc/certaos.conf from the source tree (kyua variable
#		srcdir) passes -nv once its secret and TLS paths point at
#		test files, and so do the examples it has commented out
#		("#keyword ..." lines, but include); skipped when the tree
#		has no sample.
#
# A first line "# certaosd-args: ..." in a .conf adds arguments (-D).
# Every case runs in its own work directory holding copies of the .conf
# files, a root-owned 0600 "secret" and a self-signed "cert.pem" and
# "key.pem" (0600), so file names in the configs are relative and the
# .err files predictable.  The daemon is $builddir/bin/certaosd
# (kyua variable builddir; by default two levels above this directory).
#

certaosd_bin()
{
	local builddir

	builddir=$(atf_config_get builddir "$(atf_get_srcdir)/../..")
	echo "${builddir}/bin/certaosd"
}

setup_files()
{
	local bin

	bin=$(certaosd_bin)
	[ -x "${bin}" ] || atf_fail "no certaosd at ${bin}"
	[ "$(pwd -P)" != "$(cd "$(atf_get_srcdir)" && pwd -P)" ] ||
	    atf_fail "run from a scratch directory, as kyua does"
	cp "$(atf_get_srcdir)"/*.conf . || atf_fail "cannot copy the configs"
	(umask 077 && head -c 48 /dev/urandom > secret) ||
	    atf_fail "cannot write the secret"
	if ! (umask 077 && openssl req -x509 -newkey ec \
	    -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
	    -days 1 -keyout key.pem -out cert.pem) >/dev/null 2>&1; then
		printf '%s\n' '-----BEGIN CERTIFICATE-----' \
		    '-----END CERTIFICATE-----' > cert.pem
		(umask 077 && printf '%s\n' '-----BEGIN PRIVATE KEY-----' \
		    '-----END PRIVATE KEY-----' > key.pem)
	fi
}

# The extra arguments of a config, from its "# certaosd-args:" line.
conf_args()
{
	sed -n '1s/^# certaosd-args: *//p' "$1"
}

# Point the secret and TLS file names of a config at the test's files.
localize()
{
	local ws='[ 	]*'

	sed -e "s|^\\(${ws}secret${ws}file${ws}\\)\"[^\"]*\"|\\1\"secret\"|" \
	    -e "s|^\\(${ws}certificate${ws}\\)\"[^\"]*\"|\\1\"cert.pem\"|" \
	    -e "s|^\\(${ws}key${ws}\\)\"[^\"]*\"|\\1\"key.pem\"|"
}

check_good()
{
	local n=$1 bin args

	setup_files
	bin=$(certaosd_bin)
	args=$(conf_args "${n}.conf")
	atf_check -s exit:0 -o file:"$(atf_get_srcdir)/${n}.out" \
	    -e inline:"configuration OK\n" \
	    "${bin}" ${args} -nv -f "${n}.conf"
	# The normalized output is a config that prints itself.
	cp "$(atf_get_srcdir)/${n}.out" reparse.conf
	atf_check -s exit:0 -o file:reparse.conf \
	    -e inline:"configuration OK\n" \
	    "${bin}" -nv -f reparse.conf
	# -n alone prints no configuration.
	atf_check -s exit:0 -o empty -e inline:"configuration OK\n" \
	    "${bin}" ${args} -n -f "${n}.conf"
}

check_bad()
{
	local n=$1 bin args

	setup_files
	bin=$(certaosd_bin)
	args=$(conf_args "${n}.conf")
	atf_check -s exit:1 -o empty -e file:"$(atf_get_srcdir)/${n}.err" \
	    "${bin}" ${args} -n -f "${n}.conf"
	atf_check -s exit:1 -o empty -e file:"$(atf_get_srcdir)/${n}.err" \
	    "${bin}" ${args} -nv -f "${n}.conf"
}

atf_test_case sample
sample_head()
{
	atf_set "descr" "etc/certaos.conf passes certaosd -nv"
}
sample_body()
{
	local src bin

	src=$(atf_config_get srcdir "")
	[ -n "${src}" ] || atf_skip "kyua variable srcdir not set"
	[ -f "${src}/etc/certaos.conf" ] ||
	    atf_skip "no ${src}/etc/certaos.conf"
	setup_files
	bin=$(certaosd_bin)
	localize < "${src}/etc/certaos.conf" > sample.conf
	atf_check -s exit:0 -o save:sample.out \
	    -e inline:"configuration OK\n" "${bin}" -nv -f sample.conf
	atf_check -s exit:0 -o file:sample.out \
	    -e inline:"configuration OK\n" "${bin}" -nv -f sample.out
	# What the sample says it sets, the daemon must have read.
	atf_check -s exit:0 -o ignore grep -q '^secret file "secret"$' \
	    sample.out
	atf_check -s exit:0 -o ignore grep -q '^listen on ' sample.out

	# The commented-out examples ("#prefork 2", "#listen ... {",
	# "#<tab>key ...", "#}") are valid too.
	sed -e '/^#include/d' -e 's/^#\([a-z}]\)/\1/' \
	    -e 's/^#\(	certificate \)/\1/' \
	    -e 's/^#\(	key \)/\1/' \
	    "${src}/etc/certaos.conf" | localize > examples.conf
	atf_check -s exit:0 -o save:examples.out \
	    -e inline:"configuration OK\n" "${bin}" -nv -f examples.conf
	atf_check -s exit:0 -o file:examples.out \
	    -e inline:"configuration OK\n" "${bin}" -nv -f examples.out
}

atf_test_case secret_file
secret_file_head()
{
	atf_set "descr" "the parser passes the secret file to the master's" \
	    "checks, which refuse a readable or missing one"
	atf_set "require.user" "root"
}
secret_file_body()
{
	local bin

	setup_files
	bin=$(certaosd_bin)
	chmod 0644 secret
	atf_check -s exit:1 -o empty -e match:"secret: mode 0644" \
	    "${bin}" -n -f good-1.conf
	rm -f secret
	atf_check -s exit:1 -o empty -e match:"secret: No such file" \
	    "${bin}" -n -f good-1.conf
}

atf_test_case missing_file
missing_file_head()
{
	atf_set "descr" "a config file that does not exist"
}
missing_file_body()
{
	atf_check -s exit:1 -o empty -e inline:"certaosd: nonexistent.conf: \
No such file or directory\n" \
	    "$(certaosd_bin)" -n -f nonexistent.conf
}

atf_init_test_cases()
{
	local f n tc

	# One case per golden file, named after it (good-1 -> good_1).
	for f in "$(atf_get_srcdir)"/good-*.conf \
	    "$(atf_get_srcdir)"/bad-*.conf; do
		[ -f "${f}" ] || continue
		n=$(basename "${f}" .conf)
		tc=$(echo "${n}" | tr - _)
		# atf_test_case defines a default head and body: first.
		atf_test_case "${tc}"
		case ${n} in
		good-*)	eval "${tc}_body() { check_good ${n}; }" ;;
		*)	eval "${tc}_body() { check_bad ${n}; }" ;;
		esac
		eval "${tc}_head() { atf_set descr '${n}.conf'; }"
		atf_add_test_case "${tc}"
	done
	atf_add_test_case sample
	atf_add_test_case secret_file
	atf_add_test_case missing_file
}
