"""pytest: nothing here is a pytest test. The fixture notebooks are driven by the browser
suite (bash tests/browser/run.sh) and, headlessly, by tests/test_widgets_headless.py;
nbval must not collect them (the negative control fails on purpose)."""

collect_ignore = ["fixtures", "artifacts", "node_modules", "test-results", "playwright-report"]
