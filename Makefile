# The two commands of the README: `make demo` and `make test`.  Everything else is for developers.
.PHONY: demo test lint bench clean pi-check

demo:
	@sh scripts/bootstrap.sh
	@sh scripts/sysdeps.sh app || true
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
		.venv/bin/kiosk demo; \
	else \
		echo "No display found: running the scripted tour instead (screenshots go to tour/, open tour/index.html)"; \
		.venv/bin/kiosk demo --tour tour; \
	fi

test:
	@sh scripts/sysdeps.sh
	@sh scripts/bootstrap.sh test
	.venv/bin/ruff check kiosk tests bench
	.venv/bin/python -m pytest -q -p no:cacheprovider

lint:
	.venv/bin/ruff check kiosk tests bench

# make bench PI_CLASS=4 (or 5): the UI and circulation benchmarks under a Raspberry Pi's CPU budget
# (a calibrated, throttled control group: bench/piclass.py; needs root).  PI_SLOWDOWN overrides.
bench:
	@sh scripts/bootstrap.sh test,bench
	.venv/bin/python bench/run_all.py $(if $(PI_CLASS),--pi-class $(PI_CLASS))

# Not part of `make test`: an arm64 Debian root under qemu, the installer, doctor and a tour in it
# (root only, tens of minutes the first time; scripts/pi-check.sh says what it does).
pi-check:
	sh scripts/pi-check.sh

# The background demo library runs from .venv: stop it before .venv goes (its data in var/ stays).
clean:
	-@[ -x .venv/bin/kiosk ] && .venv/bin/kiosk demo-ils --stop >/dev/null 2>&1 || true
	rm -rf .venv build *.egg-info tour bench/results/*.json bench/results/pi*/
