# CertaOS: GNU make on Debian 12.
#
#   make            build everything into obj/
#   make run        install missing packages, build, run a development daemon
#   make test       the whole suite, plain and under ASan+UBSan
#   make install    DESTDIR/PREFIX
#
# OBJ names the build tree; SAN=1 builds with AddressSanitizer and
# UndefinedBehaviorSanitizer, VG=1 for valgrind (make test does all three,
# in obj/, obj-san/ and obj-vg/).

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec
MANDIR	?= $(PREFIX)/share/man
SHAREDIR ?= $(PREFIX)/share/certaos
SYSCONFDIR ?= /etc

OBJ	?= obj
SAN	?=

PKGS	= libevent libevent_openssl libpq openssl yajl libbsd-overlay \
	  libargon2 libseccomp
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS))

CC	?= cc
# make's built-in YACC is yacc: name ours unless given on the command line
ifeq ($(origin YACC),default)
YACC	= byacc
endif
CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	   -Wmissing-prototypes -Wstrict-prototypes -Wshadow \
	   -Wpointer-arith -Wcast-qual -Wsign-compare -fno-common
CPPFLAGS += -Ilib -I$(OBJ)/gen $(PKG_CFLAGS) -D_GNU_SOURCE \
	    -DCERTAOS_SHAREDIR='"$(SHAREDIR)"'
LDLIBS	+= $(PKG_LIBS) -lm
# Each program maps only the libraries it uses: less memory per process.
LDFLAGS	+= -Wl,--as-needed
# VG=1: children run under valgrind, without seccomp (valgrind cannot run
# under a filter); only for the leak check of make test.
ifeq ($(VG),1)
CPPFLAGS += -DCERTAOS_VALGRIND
endif
ifeq ($(SAN),1)
CFLAGS	+= -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
LDFLAGS	+= -fsanitize=address,undefined
CPPFLAGS += -DCERTAOS_SANITIZE
endif

LIB_SRCS := $(sort $(wildcard lib/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(OBJ)/o/%.o)
LIBA	:= $(OBJ)/lib/libcertaos.a

# Programs: every .c in the directory, plus what is generated for it.
PROGS	:= bin/certaosd bin/certaosctl libexec/certaos-web \
	   libexec/certaos-keys libexec/certaos-db libexec/certaos-mail
srcs_of	= $(sort $(wildcard $(1)/*.c))
objs_of	= $(patsubst %.c,$(OBJ)/o/%.o,$(call srcs_of,$(1)))

CERTAOSD_OBJS := $(call objs_of,bin/certaosd) $(OBJ)/gen/parse.o
CERTAOSCTL_OBJS := $(call objs_of,bin/certaosctl)
WEB_OBJS := $(call objs_of,libexec/certaos-web)
KEYS_OBJS := $(call objs_of,libexec/certaos-keys)
DB_OBJS	:= $(call objs_of,libexec/certaos-db)
MAIL_OBJS := $(call objs_of,libexec/certaos-mail)

BINS	:= $(OBJ)/bin/certaosd $(OBJ)/bin/certaosctl \
	   $(OBJ)/libexec/certaos-web $(OBJ)/libexec/certaos-keys \
	   $(OBJ)/libexec/certaos-db $(OBJ)/libexec/certaos-mail

# The shipped mail templates, where the build tree's certaosd finds them.
TEMPLATES := $(sort $(wildcard etc/templates/*.txt etc/templates/*.html))
TEMPLATES_OBJ := $(TEMPLATES:etc/templates/%=$(OBJ)/share/templates/%)

# Tests: regress/<dir>/t_*.c are atf-c programs.  Those under
# regress/<prog>/ also link that program's objects but its main file
# (for the master: the grammar alone).
TEST_SRCS := $(sort $(wildcard regress/*/t_*.c))
TESTS_C	:= $(TEST_SRCS:%.c=$(OBJ)/%)
TESTS_SH := $(patsubst %.sh,$(OBJ)/%,$(sort $(filter-out regress/tools/%,\
	$(wildcard regress/*/*.sh))))
KYUAFILES := $(patsubst %,$(OBJ)/%,$(shell find regress -name Kyuafile))
REGRESS_DATA := $(patsubst %,$(OBJ)/%,$(shell find regress -type f \
	\( -name '*.conf' -o -name '*.out' -o -name '*.err' -o \
	-name '*.subr' -o -name '*.pem' -o -name '*.json' \)))

MANS	:= $(wildcard docs/*.5 docs/*.8)
SQLS	:= $(sort $(wildcard sql/*.sql))

.PHONY: all deps run test check clean install lint man-lint bench fuzz

all: $(BINS) $(TEMPLATES_OBJ) $(TESTS_C) $(TESTS_SH) $(KYUAFILES) $(REGRESS_DATA)

.SECONDEXPANSION:

$(OBJ)/o/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -I$(dir $<) -c -o $@ $<

$(LIBA): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# The grammar.
$(OBJ)/gen/parse.c: bin/certaosd/parse.y
	@mkdir -p $(dir $@)
	$(YACC) -o $@ $<
$(OBJ)/gen/parse.o: $(OBJ)/gen/parse.c bin/certaosd/certaosd.h $(wildcard lib/*.h)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes -Ibin/certaosd \
	    -c -o $@ $<

# Migrations are compiled into certaos-db: nothing to find at run time.
$(OBJ)/gen/migrations.h: $(SQLS) regress/tools/mkmigrations.sh
	@mkdir -p $(dir $@)
	sh regress/tools/mkmigrations.sh $(SQLS) > $@.tmp && mv $@.tmp $@
$(DB_OBJS): $(OBJ)/gen/migrations.h

$(OBJ)/bin/certaosd: $(CERTAOSD_OBJS) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(OBJ)/bin/certaosctl: $(CERTAOSCTL_OBJS) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(OBJ)/libexec/certaos-web: $(WEB_OBJS) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(OBJ)/libexec/certaos-keys: $(KEYS_OBJS) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(OBJ)/libexec/certaos-db: $(DB_OBJS) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(OBJ)/libexec/certaos-mail: $(MAIL_OBJS) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(TEMPLATES_OBJ): $(OBJ)/share/templates/%: etc/templates/%
	@mkdir -p $(dir $@)
	cp $< $@

# atf-c programs; regress/certaosd/ ones link the grammar, the others
# their program's objects minus its main file.
prog_objs_for = $(if $(filter regress/certaosd/%,$(1)),$(OBJ)/gen/parse.o,$(if $(filter \
	regress/certaos-keys/%,$(1)),$(filter-out \
	$(OBJ)/o/libexec/certaos-keys/keys.o,$(KEYS_OBJS)),$(if $(filter \
	regress/certaos-db/%,$(1)),$(filter-out \
	$(OBJ)/o/libexec/certaos-db/db.o,$(DB_OBJS)),$(if $(filter \
	regress/certaos-web/%,$(1)),$(filter-out \
	$(OBJ)/o/libexec/certaos-web/web.o,$(WEB_OBJS)),$(if $(filter \
	regress/certaos-mail/%,$(1)),$(filter-out \
	$(OBJ)/o/libexec/certaos-mail/mail.o,$(MAIL_OBJS)),$(if $(filter \
	regress/fuzz/%,$(1)),$(filter-out \
	$(OBJ)/o/libexec/certaos-web/web.o,$(WEB_OBJS)) \
	$(OBJ)/gen/parse.o))))))

$(TESTS_C): $(OBJ)/%: %.c $$(call prog_objs_for,%.c) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes -MMD -MP -MF $@.d \
	    -I$(dir $<) -Ibin/certaosd -o $@ $< \
	    $(call prog_objs_for,$<) $(LIBA) $(LDFLAGS) $(LDLIBS) -latf-c

$(TESTS_SH): $(OBJ)/%: %.sh
	@mkdir -p $(dir $@)
	atf-sh -c 'true' </dev/null >/dev/null 2>&1 || true
	{ echo '#! /usr/bin/env atf-sh'; cat $<; } > $@.tmp
	chmod 755 $@.tmp && mv $@.tmp $@

$(KYUAFILES) $(REGRESS_DATA): $(OBJ)/%: %
	@mkdir -p $(dir $@)
	cp $< $@

# Install what building, running and testing need (Debian 12, as root).
deps:
	@sh regress/tools/deps.sh

run: deps all
	@sh regress/tools/run.sh $(OBJ)

# The whole suite, then again under the sanitizers; the last line is the
# sum of both: "N passed, N failed".
test: deps
	@sh regress/tools/test.sh

# One build tree through kyua: make check OBJ=obj [SAN=1]
check: all
	@sh regress/tools/check.sh $(OBJ)

lint: man-lint
man-lint:
	mandoc -Tlint -Wwarning $(MANS)

bench: all
	@sh bench/run

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(SHAREDIR)/sql $(DESTDIR)$(SHAREDIR)/examples \
	    $(DESTDIR)$(SHAREDIR)/templates
	install -m 0555 $(OBJ)/bin/certaosd $(OBJ)/bin/certaosctl \
	    $(DESTDIR)$(BINDIR)
	install -m 0555 $(OBJ)/libexec/certaos-web \
	    $(OBJ)/libexec/certaos-keys $(OBJ)/libexec/certaos-db \
	    $(OBJ)/libexec/certaos-mail $(DESTDIR)$(LIBEXECDIR)
	install -m 0444 $(wildcard docs/*.5) $(DESTDIR)$(MANDIR)/man5
	install -m 0444 $(wildcard docs/*.8) $(DESTDIR)$(MANDIR)/man8
	install -m 0444 $(SQLS) $(DESTDIR)$(SHAREDIR)/sql
	install -m 0444 $(TEMPLATES) $(DESTDIR)$(SHAREDIR)/templates
	install -m 0444 etc/certaos.conf etc/certaosd.service \
	    $(DESTDIR)$(SHAREDIR)/examples
	install -m 0555 etc/rc.d/certaosd $(DESTDIR)$(SHAREDIR)/examples

# Header dependencies, as the compiler found them.
-include $(wildcard $(OBJ)/o/*/*.d $(OBJ)/o/*/*/*.d $(OBJ)/regress/*/*.d)

clean:
	rm -rf obj obj-san obj-vg obj-fuzz

# libFuzzer targets (regress/fuzz/fuzz_*.c) in obj-fuzz/, with clang and
# ASan+UBSan.  Not part of make test: t_replay runs the same targets there
# on their seeds and mutants.  Needs clang and its libFuzzer runtime,
# which make deps does not install (Debian 12, as root: apt-get install
# clang libclang-rt-14-dev).  Everything the targets link is compiled
# here again with coverage instrumentation.
FUZZ_OBJ ?= obj-fuzz
FUZZ_CC	?= clang
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	   -fno-omit-frame-pointer
FUZZ_CFLAGS = -g -O1 -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
	   -Wno-missing-field-initializers \
	   $(FUZZ_SAN)
FUZZ_CPPFLAGS = -Ilib -Ibin/certaosd -I$(FUZZ_OBJ)/gen $(PKG_CFLAGS) \
	   -D_GNU_SOURCE -DFUZZ_LIBFUZZER
FUZZ_NAMES := $(patsubst regress/fuzz/fuzz_%.c,%,\
	$(wildcard regress/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_OBJ)/fuzz_%)
FUZZ_OBJS := $(patsubst %.c,$(FUZZ_OBJ)/o/%.o,$(LIB_SRCS) \
	libexec/certaos-web/http.c libexec/certaos-web/routes.c) \
	$(FUZZ_OBJ)/o/parse.o
FUZZ_LIBA := $(FUZZ_OBJ)/libcertaos-fuzz.a

fuzz: $(FUZZ_BINS)
	@echo "fuzz: run a target on a scratch copy of its seeds, e.g.:"
	@echo "  mkdir -p /tmp/c && cp regress/fuzz/corpus/http/* /tmp/c"
	@echo "  $(FUZZ_OBJ)/fuzz_http -max_total_time=60 /tmp/c"
	@echo "fuzz: targets: $(FUZZ_NAMES); CERTAOS_FUZZ_VERBOSE=1 shows" \
	    "what fuzz_config's parser logs"

$(FUZZ_OBJ)/o/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) \
	    -fsanitize=fuzzer-no-link -MMD -MP -I$(dir $<) -c -o $@ $<
$(FUZZ_OBJ)/gen/parse.c: bin/certaosd/parse.y
	@mkdir -p $(dir $@)
	$(YACC) -o $@ bin/certaosd/parse.y
$(FUZZ_OBJ)/o/parse.o: $(FUZZ_OBJ)/gen/parse.c bin/certaosd/certaosd.h \
    $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) \
	    -fsanitize=fuzzer-no-link -c -o $@ $(FUZZ_OBJ)/gen/parse.c
$(FUZZ_LIBA): $(FUZZ_OBJS)
	rm -f $@
	ar rcs $@ $^
$(FUZZ_OBJ)/fuzz_%: regress/fuzz/fuzz_%.c regress/fuzz/fuzz.h $(FUZZ_LIBA)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer \
	    -o $@ $< $(FUZZ_LIBA) $(LDFLAGS) $(LDLIBS)

-include $(wildcard $(FUZZ_OBJ)/o/*/*.d $(FUZZ_OBJ)/o/*/*/*.d)
