/**
 * Playwright configuration for the browser suite: Galata's defaults, Debian's
 * chromium (never a downloaded browser), one worker, artifacts under ./artifacts.
 *
 * run.sh starts the JupyterLab server and passes its URL as TARGET_URL.
 */
import { defineConfig } from '@playwright/test';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export default defineConfig({
  ...baseConfig,
  testDir: '.',
  testMatch: /.*\.spec\.ts$/,
  outputDir: 'artifacts/test-results',
  reporter: [
    ['list'],
    ['html', { open: 'never', outputFolder: 'artifacts/report' }],
    ['json', { outputFile: 'artifacts/results.json' }]
  ],
  // Two shared CPU cores: one notebook (one kernel, one browser tab) at a time.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  // Per notebook: open, run all cells (TACOLIB_FAST=1), move every slider.
  timeout: 240_000,
  expect: { timeout: 30_000 },
  use: {
    ...baseConfig.use,
    baseURL: process.env.TARGET_URL ?? 'http://127.0.0.1:8899',
    viewport: { width: 1280, height: 900 },
    trace: 'retain-on-failure',
    video: 'off',
    screenshot: 'only-on-failure',
    browserName: 'chromium',
    launchOptions: {
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ]
    }
  }
});
