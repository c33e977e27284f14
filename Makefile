# Distributor — the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
MANAGE := $(PY) manage.py
# Where `make run`, `make serve` and `make serve-prod` listen: this machine only unless HOST=0.0.0.0.
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev migrate demo serve admin static serve-prod worker beat assets messages \
	lint bench totp clean

$(VENV)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.lock
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock $(VENV)/.installed
	$(PIP) install --quiet -r requirements-dev.lock
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: the demo — install, migrate, load demo data, serve on http://$(HOST):$(PORT) (development only); when
## another program holds $(PORT), the next free port, and the printed sign-in address says which
# The demo operator's bank, so invoices, statements and the portal's bank-transfer page show how to pay (any
# of these set in the environment wins).
run: export OPERATOR_BANK_NAME ?= Bank of Example, Shanghai Pudong Branch
run: export OPERATOR_BANK_ACCOUNT_NAME ?= Distributor Demo Ltd.
run: export OPERATOR_BANK_ACCOUNT_NUMBER ?= 3100 0000 0000 0000 2026
run: export OPERATOR_BANK_CODE ?= EXAMCNSH
run: export OPERATOR_PAYMENT_INSTRUCTIONS ?= Quote the invoice number as the transfer reference. 转账时请注明发票号。
run: install migrate
	@port=$$($(PY) -m distributor.free_port $(HOST) $(PORT)) && \
		$(MANAGE) load_demo --host $(HOST) --port $$port && \
		$(MANAGE) runserver $(HOST):$$port

migrate: install
	$(MANAGE) migrate --noinput

demo: install
	$(MANAGE) load_demo --host $(HOST) --port $(PORT)

## serve: Django's development server (runserver); never in production, use serve-prod there
serve: install
	$(MANAGE) runserver $(HOST):$(PORT)

## admin: create an administrator (prompts for e-mail and password); TOTP is enrolled at first sign-in
admin: install
	$(MANAGE) createsuperuser

## static: collect the static files into STATIC_ROOT, hashed and compressed, for production
static: install
	$(MANAGE) collectstatic --noinput

## serve-prod: production — migrate, collect static files, serve with gunicorn (gunicorn.conf.py) on
## $(HOST):$(PORT) behind an HTTPS reverse proxy; DISTRIBUTOR_ENV=production demands its settings
serve-prod: export DISTRIBUTOR_ENV := production
serve-prod: install migrate static
	HOST=$(HOST) PORT=$(PORT) $(VENV)/bin/gunicorn

## worker / beat: real Celery, needs REDIS_URL (and DATABASE_URL for PostgreSQL)
worker: install
	$(VENV)/bin/celery -A distributor worker --loglevel=INFO -Q ingest,billing,pdf,notify

beat: install
	$(VENV)/bin/celery -A distributor beat --loglevel=INFO

## totp: print the current two-factor codes of the demo admin and finance users
totp: install
	$(MANAGE) demo_totp

## test: ruff, the import layering (import-linter) and the whole pytest suite
test: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## bench: the figures issues ask for, printed as `name: value` lines (BENCH=module to pick one)
bench: install-dev
	$(PY) -m bench $(BENCH)

## assets: re-vendor front-end packages from npm into static/vendor (committed; not needed to run)
assets:
	npm ci --no-audit --no-fund
	mkdir -p static/vendor/bootstrap static/vendor/bootstrap-icons/fonts static/vendor/htmx static/vendor/chartjs
	cp node_modules/bootstrap/dist/css/bootstrap.min.css static/vendor/bootstrap/
	cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js static/vendor/bootstrap/
	cp node_modules/bootstrap-icons/font/bootstrap-icons.min.css static/vendor/bootstrap-icons/
	cp node_modules/bootstrap-icons/font/fonts/bootstrap-icons.woff2 node_modules/bootstrap-icons/font/fonts/bootstrap-icons.woff static/vendor/bootstrap-icons/fonts/
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx/
	cp node_modules/chart.js/dist/chart.umd.min.js static/vendor/chartjs/
	# Redoc for /api/v1/docs/. Its sidebar shows Redocly's logo from their CDN: the docs page loads nothing from
	# outside (CSP img-src), so the logo becomes an empty image; its source map is not shipped.
	mkdir -p static/vendor/redoc/bundles
	cp node_modules/redoc/LICENSE static/vendor/redoc/
	cp node_modules/redoc/bundles/redoc.standalone.js node_modules/redoc/bundles/redoc.standalone.js.LICENSE.txt static/vendor/redoc/bundles/
	sed -i -e '\#^//\# sourceMappingURL=#d' -e 's#https://cdn.redoc.ly/redoc/logo-mini.svg#data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7#' static/vendor/redoc/bundles/redoc.standalone.js
	# The source-map comments name .map files we do not ship: collectstatic's manifest storage follows every
	# reference (url(), sourceMappingURL) and fails on a missing one, so production would serve no page.
	perl -ni -e 'print unless m{^\s*(?://|/\*)# sourceMappingURL=}' static/vendor/bootstrap/* static/vendor/bootstrap-icons/*.css static/vendor/htmx/* static/vendor/chartjs/*
	# Fonts for PDF documents: Source Han Sans SC cut to GB2312 + Latin (3.6 MB each) and to Latin only (77 KB).
	# Read from disk by WeasyPrint, never by a browser: kept out of static/ so collectstatic skips 14 MB.
	mkdir -p billing/documents/fonts
	cp node_modules/node-source-han-sans-sc/LICENSE billing/documents/fonts/LICENSE.txt
	$(PY) -m billing.documents.font_subset node_modules/node-source-han-sans-sc/SourceHanSansSC-Regular.otf billing/documents/fonts/SourceHanSansSC-Regular-subset.otf
	$(PY) -m billing.documents.font_subset node_modules/node-source-han-sans-sc/SourceHanSansSC-Bold.otf billing/documents/fonts/SourceHanSansSC-Bold-subset.otf
	$(PY) -m billing.documents.font_subset node_modules/node-source-han-sans-sc/SourceHanSansSC-Regular.otf billing/documents/fonts/SourceHanSansSC-Regular-latin.otf latin
	$(PY) -m billing.documents.font_subset node_modules/node-source-han-sans-sc/SourceHanSansSC-Bold.otf billing/documents/fonts/SourceHanSansSC-Bold-latin.otf latin

## messages: refresh and compile the Chinese translations (needs gettext)
messages: install
	$(MANAGE) makemessages -l zh_Hans --ignore=.venv --ignore=node_modules --ignore=staticfiles
	$(MANAGE) compilemessages -l zh_Hans --ignore=.venv

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles test-artifacts
