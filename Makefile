# The two commands of the README: `make demo` and `make test`.  Everything else is for developers.
.PHONY: demo test lint bench clean pi-check

demo:
	@sh scripts/bootstrap.sh
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
		.venv/bin/kiosk demo; \
	else \
		sh scripts/sysdeps.sh || true; \
		echo "No display found: running the scripted tour instead (screenshots go to tour/)"; \
		.venv/bin/kiosk demo --tour tour; \
	fi

test:
	@sh scripts/sysdeps.sh
	@sh scripts/bootstrap.sh test
	.venv/bin/ruff check kiosk tests bench
	.venv/bin/python -m pytest -q -p no:cacheprovider

lint:
	.venv/bin/ruff check kiosk tests bench

bench:
	@sh scripts/bootstrap.sh test
	.venv/bin/python bench/run_all.py

# Not part of `make test`: an arm64 Debian root under qemu, the installer, doctor and a tour in it
# (root only, tens of minutes the first time; scripts/pi-check.sh says what it does).
pi-check:
	sh scripts/pi-check.sh

clean:
	rm -rf .venv build *.egg-info tour bench/results/*.json
