# The two commands of the README:
#   make demo   set up everything, then run the main job (convolab demo)
#   make test   set up everything, then run the whole test suite
# Both work on a fresh Debian machine with Python 3.11; they install what is missing.

VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test setup system-deps lint bench clean

setup: $(STAMP)

# torch first, pinned: on these machines `torch==2.13.0` resolves to a local CPU
# build; an unpinned torch would pull gigabytes of CUDA packages.
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[all,test]'
	touch $(STAMP)

# Debian chromium for browser tests and PDF reports (fonts-noto-color-emoji so 📞 💬 🚩 do not
# render as boxes), espeak-ng for sample call audio, poppler-utils (pdftoppm, pdftotext) to check
# PDF reports, Prism (npm) for the Twilio contract tests, postgresql for team stores with a
# PostgreSQL catalog (the tests start their own server on 127.0.0.1 as an unprivileged user; the
# system service is not used). Installed only when missing.
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! command -v espeak-ng >/dev/null \
	    || [ ! -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || ! command -v pdftoppm >/dev/null; then \
	    echo "installing chromium, fonts-noto-color-emoji, espeak-ng, sox and poppler-utils (apt)"; \
	    (apt-get update -qq && apt-get install -y -qq chromium fonts-noto-color-emoji espeak-ng sox poppler-utils >/dev/null) \
	    || { echo "apt-get install failed: run as root or install chromium fonts-noto-color-emoji espeak-ng sox poppler-utils"; exit 1; }; \
	fi
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	    echo "installing postgresql (apt)"; \
	    (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) \
	    || { echo "apt-get install failed: run as root or install postgresql"; exit 1; }; \
	fi
	@if [ ! -x .tools/node_modules/.bin/prism ]; then \
	    echo "installing Prism (npm) into .tools"; \
	    npm install --silent --prefix .tools @stoplight/prism-cli@5 >/dev/null; \
	fi

demo: setup
	$(VENV)/bin/convolab demo

test: setup system-deps
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check convolab tests bench

clean:
	rm -rf $(VENV) .tools .pytest_cache test-output
