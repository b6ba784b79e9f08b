# Hotline — top-level build.  `make` builds everything, `make test` runs every
# test, `make run` starts a ward node and a city aggregator on this machine.
#
#   BUILD=build-asan SAN=address,undefined make test    sanitizer build
#   OPT=-O2 make bench                                  optimised benchmarks

BUILD   ?= build
OPT     ?= -O1 -g
SAN     ?=
CC      ?= cc
PKGS    := libczmq libzmq libprotobuf-c sqlite3 jansson libcurl libmicrohttpd libsodium liboath
CFLAGS  ?=
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(OPT) \
           -I$(BUILD)/gen -Iservices/lib $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread
ifneq ($(SAN),)
CFLAGS  += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=$(SAN)
endif

LIB_SRC := $(wildcard services/lib/*.c)
LIB_OBJ := $(patsubst services/lib/%.c,$(BUILD)/lib/%.o,$(LIB_SRC)) $(BUILD)/gen/hotline.pb-c.o
LIB     := $(BUILD)/libhotline.a

SERVICES := intake routing deadline-watcher notification archive web
BINS     := $(addprefix $(BUILD)/hotline-,$(SERVICES)) $(BUILD)/hotline $(BUILD)/hotline-selftest \
            $(BUILD)/hotline-entrypoint

.SECONDEXPANSION:
.PHONY: all deps test run bench fuzz clean
all: $(BINS)

deps:
	@deploy/deps.sh

$(BUILD)/gen/hotline.pb-c.c $(BUILD)/gen/hotline.pb-c.h: proto/hotline.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=proto --c_out=$(BUILD)/gen proto/hotline.proto

$(BUILD)/gen/hotline.pb-c.o: $(BUILD)/gen/hotline.pb-c.c
	@echo "  CC  $@"
	@$(CC) $(CFLAGS) -Wno-unused-parameter -c $< -o $@

$(BUILD)/lib/%.o: services/lib/%.c services/lib/*.h $(BUILD)/gen/hotline.pb-c.h
	@mkdir -p $(BUILD)/lib
	@echo "  CC  $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@ar rcs $@ $^

$(BUILD)/hotline-%: $$(wildcard services/$$*/*.c services/$$*/*.h) services/lib/*.h $(LIB)
	@echo "  LD  $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) $(filter %.c,$^) $(LIB) $(LDLIBS) -o $@

$(BUILD)/hotline: services/cli/*.c services/lib/*.h $(LIB)
	@echo "  LD  $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) $(filter %.c,$^) $(LIB) $(LDLIBS) -o $@

#   The container image's entrypoint: no library (it must run when nothing
#   else does); it knows the services from SERVICES above
$(BUILD)/hotline-entrypoint: services/entrypoint/entrypoint.c Makefile
	@mkdir -p $(BUILD)
	@echo "  LD  $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -DHL_SERVICES='"$(SERVICES)"' $< -o $@

$(BUILD)/hotline-selftest: tests/selftest.c services/lib/*.h $(LIB)
	@echo "  LD  $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) tests/selftest.c $(LIB) $(LDLIBS) -o $@

#   These first install what is missing (deploy/deps.sh), then build in a
#   fresh make, so the compiler flags see the packages just installed
test: deps
	@tests/run

run: deps
	@$(MAKE) -s all
	@deploy/run-local.sh

bench: deps
	@tests/bench/run

fuzz: deps
	@tests/fuzz/run

clean:
	rm -rf build build-*
