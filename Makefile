# Thin wrappers around CMake and CTest: the commands the README names.
#   make run    portd in the foreground on conf/dev.yaml
#   make test   the whole suite (format check, build, ctest; plus the ASan+UBSan build)

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

# Debian 12 packages the build, the tests and `make run` need.
DEPS = cmake ninja-build g++ make pkg-config python3 \
       libboost-dev libyaml-cpp-dev libspdlog-dev libsystemd-dev libgtest-dev libgmock-dev \
       clang-format curl lftp netbase wget

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: all deps build run test check test-asan test-fuzz format format-check clean

all: build

# Installs only what is missing; `apt-get update` first, because a fresh machine's apt knows
# no packages until it has run once.
deps:
	@missing=""; \
	for p in $(DEPS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' \
	    || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_ARGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)
	@ln -sf $(BUILD)/compile_commands.json compile_commands.json

# conf/dev.yaml's FTP user writes into build/ftp/dev.
run: build
	@mkdir -p build/ftp/dev
	$(BUILD)/daemon/portd --foreground -c conf/dev.yaml

# The quick loop: the normal build's suite only.
check: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test: format-check check test-asan test-fuzz

$(BUILD_ASAN)/build.ninja:
	cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	      -DPORTD_SANITIZE=address,undefined $(CMAKE_ARGS)

test-asan: deps $(BUILD_ASAN)/build.ninja
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(BUILD_ASAN) --output-on-failure -j $(JOBS)

# The parsers under libFuzzer (clang), each for FUZZ_SECONDS from its seed corpus; only the
# fuzzers and the libraries they test are built with clang.
FUZZ_DEPS = clang libclang-rt-14-dev
FUZZERS = libfuzzer_http_request libfuzzer_ftp_command

$(BUILD_FUZZ)/build.ninja:
	CXX=clang++ cmake -S . -B $(BUILD_FUZZ) -G Ninja -DPORTD_FUZZ=ON \
	      -DPORTD_SANITIZE=address,undefined -DPORTD_FUZZ_SECONDS=$(FUZZ_SECONDS) $(CMAKE_ARGS)

test-fuzz: deps
	@$(MAKE) --no-print-directory deps DEPS="$(FUZZ_DEPS)"
	@$(MAKE) --no-print-directory $(BUILD_FUZZ)/build.ninja
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target $(FUZZERS)
	ctest --test-dir $(BUILD_FUZZ) -L fuzz --output-on-failure

SOURCES = $(shell git ls-files '*.cpp' '*.hpp' '*.hpp.in' 2>/dev/null | grep -v '\.in$$')

format:
	clang-format -i $(SOURCES)

format-check: deps
	clang-format --dry-run --Werror $(SOURCES)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ) compile_commands.json

# --- Debian package and the system test (packaging/README.md, tests/system/README.md) -------
# What `make deb` and `make test-system` need beyond DEPS: the package tools (dpkg-buildpackage
# refuses to build without build-essential, which a minimal Debian lacks even with g++ in),
# scdoc for the man pages, systemd-nspawn to boot the container the system test installs the
# package in, and logrotate, which the system test runs on the package's logrotate file.
PACKAGING_DEPS = build-essential debhelper dpkg-dev fakeroot lintian scdoc systemd-container \
                 logrotate
DEB_DIR ?= build-deb

.PHONY: deb test-system
deb: deps
	@$(MAKE) --no-print-directory deps DEPS="$(PACKAGING_DEPS)"
	packaging/build-deb.sh $(DEB_DIR)

# Skips (and says why) unless root with systemd-nspawn and overlayfs; builds the .deb if stale.
test-system:
	tests/system/run.sh --make-deb $(DEB_DIR)

# `make test` runs the ctest label `system` too (a bare ctest or `make check` skips it).
test: export PORTD_SYSTEM_TEST = 1
