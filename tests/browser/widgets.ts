/**
 * Checks shared by every widget notebook: open it in JupyterLab, run all cells, and
 * inspect the DOM. Each check appends a sentence to `problems` instead of throwing,
 * so that one run reports everything that is wrong with a notebook, and so that the
 * negative control can assert *which* problems the checks found.
 */
import type { IJupyterLabPageFixture } from '@jupyterlab/galata';
import type { Locator, TestInfo } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

export const REPO = path.resolve(__dirname, '..', '..');
export const ARTIFACTS = path.join(__dirname, 'artifacts');

export interface Expectations {
  /** At least this many sliders must render; each is moved with the keyboard. */
  sliders: number;
  /**
   * Of the sliders, which must change a plotted image when moved (indices in
   * document order; default: all of them).
   */
  slidersThatPlot?: number[];
  /** Sliders whose move must also change an <audio> (e.g. the mel explorer's player). */
  slidersThatSound?: number[];
  /** At least this many <audio> elements, each carrying a RIFF/WAVE file. */
  audios: number;
  /**
   * ToggleButtons (e.g. an A/B player): at least `groups` button groups render; every
   * other button of each is clicked in turn and must change an <audio> (`changesAudio`)
   * and/or a plotted image (`changesImage`).
   */
  toggles?: { groups: number; changesAudio?: boolean; changesImage?: boolean };
  /** Text boxes (ipywidgets Text/Textarea): type `text` into the first, expect `expect` in the outputs. */
  textInput?: { text: string; expect: RegExp };
}

export interface Report {
  problems: string[];
  notes: string[];
}

const IMAGE_WAIT_MS = 30_000;

/** Notebook file for a course notebook prefix ("01"), or null if it has not landed. */
export function findNotebook(dir: string, prefix: string): string | null {
  const full = path.join(REPO, dir);
  if (!fs.existsSync(full)) return null;
  const hits = fs
    .readdirSync(full)
    .filter(f => f.startsWith(`${prefix}_`) && f.endsWith('.ipynb'))
    .sort();
  return hits.length ? path.join(full, hits[0]) : null;
}

async function shot(target: Locator | IJupyterLabPageFixture, label: string, name: string, testInfo: TestInfo) {
  const file = path.join(ARTIFACTS, 'screenshots', label, `${name}.png`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    await target.screenshot({ path: file });
    await testInfo.attach(`${label}/${name}`, { path: file, contentType: 'image/png' });
  } catch (e) {
    // A screenshot is evidence, not a check: never let it hide the real result.
    console.log(`screenshot ${label}/${name} failed: ${e}`);
  }
}

/** Widget views render asynchronously after their display message: give them a moment. */
async function countAtLeast(locator: Locator, n: number, timeout = 15_000): Promise<number> {
  const deadline = Date.now() + timeout;
  let count = await locator.count();
  while (count < n && Date.now() < deadline) {
    await new Promise(r => setTimeout(r, 250));
    count = await locator.count();
  }
  return count;
}

/** Wait until the current notebook's kernel is idle (twice in a row, 250 ms apart). */
async function waitKernelIdle(page: IJupyterLabPageFixture, timeout = 120_000) {
  await page.waitForFunction(
    () => {
      const w = window as any;
      const panel = w.galata.app.shell.currentWidget;
      const status = panel?.sessionContext?.session?.kernel?.status;
      const ok = status === 'idle';
      const was = w.__tacoIdleSince;
      if (!ok) {
        w.__tacoIdleSince = undefined;
        return false;
      }
      if (was === undefined) {
        w.__tacoIdleSince = Date.now();
        return false;
      }
      return Date.now() - was > 250;
    },
    undefined,
    { timeout, polling: 100 }
  );
}

/** Error outputs: in the notebook model (cells) and, for widget Output areas, in the DOM. */
async function findErrors(page: IJupyterLabPageFixture): Promise<string[]> {
  return page.evaluate(() => {
    const found: string[] = [];
    const panel = (window as any).galata.app.shell.currentWidget;
    const cells = panel.content.widgets;
    const cellIndexOf = (el: Element) => {
      const node = el.closest('.jp-Cell');
      return cells.findIndex((c: any) => c.node === node);
    };
    cells.forEach((cell: any, i: number) => {
      if (cell.model.type !== 'code') return;
      const outputs = cell.model.outputs;
      for (let j = 0; j < outputs.length; j++) {
        const o = outputs.get(j).toJSON();
        if (o.output_type === 'error') {
          found.push(`cell ${i} shows an error output: ${o.ename}: ${String(o.evalue).slice(0, 200)}`);
        }
      }
      const src = cell.model.sharedModel.getSource().trim();
      if (src && cell.model.executionCount === null) {
        found.push(`cell ${i} was not executed`);
      }
    });
    // Tracebacks rendered inside widgets (an ipywidgets Output shows a callback's
    // exception as a stderr-typed output that is not in the cell's own model).
    const traceback = /Traceback \(most recent call last\)|^[A-Za-z_][\w.]*(Error|Exception): /m;
    panel.node
      .querySelectorAll('.jupyter-widgets .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
      .forEach((el: Element) => {
        const text = (el as HTMLElement).innerText;
        if (traceback.test(text)) {
          const last = text.trim().split('\n').filter(l => l.trim()).pop() ?? '';
          found.push(`cell ${cellIndexOf(el)}: a widget shows a traceback: ${last.slice(0, 200)}`);
        }
      });
    // Widget views that failed: missing widget manager / extension, JS errors.
    panel.node.querySelectorAll('.jp-OutputArea-output').forEach((el: Element) => {
      const text = (el as HTMLElement).innerText ?? '';
      for (const marker of ['Error displaying widget', 'Error rendering output item', 'Javascript Error:']) {
        if (text.includes(marker)) {
          found.push(`cell ${cellIndexOf(el)}: "${text.trim().split('\n')[0].slice(0, 200)}"`);
        }
      }
    });
    return found;
  });
}

/** SHA-256 (hex) of every image (or audio) shown in the notebook's outputs, widgets included. */
async function mediaHashes(page: IJupyterLabPageFixture, kind: 'img' | 'audio'): Promise<string[]> {
  return page.evaluate(async kind => {
    const panel = (window as any).galata.app.shell.currentWidget;
    const els = Array.from(panel.node.querySelectorAll(`.jp-OutputArea-output ${kind}`)) as HTMLElement[];
    return Promise.all(
      els.map(async el => {
        const src =
          el.getAttribute('src') ||
          (Array.from(el.querySelectorAll('source')) as HTMLSourceElement[]).map(s => s.src).find(Boolean) ||
          '';
        try {
          const buf = await (await fetch(src)).arrayBuffer();
          const digest = await crypto.subtle.digest('SHA-256', buf);
          return Array.from(new Uint8Array(digest))
            .map(b => b.toString(16).padStart(2, '0'))
            .join('');
        } catch (e) {
          return `unreadable:${src.slice(0, 64)}:${src.length}`;
        }
      })
    );
  }, kind);
}
const imageHashes = (page: IJupyterLabPageFixture) => mediaHashes(page, 'img');
const audioHashes = (page: IJupyterLabPageFixture) => mediaHashes(page, 'audio');

interface AudioInfo {
  cell: number;
  scheme: string; // "data:audio/wav;base64" or "blob" ...
  head: string; // first 12 bytes as latin-1, e.g. "RIFF\u0000..WAVE"
  base64Head: string; // first 8 chars of the base64 payload for data: URLs
  bytes: number;
  error?: string;
}

async function audioInfo(page: IJupyterLabPageFixture): Promise<AudioInfo[]> {
  return page.evaluate(async () => {
    const panel = (window as any).galata.app.shell.currentWidget;
    const cells = panel.content.widgets;
    const audios = Array.from(panel.node.querySelectorAll('.jp-OutputArea-output audio')) as HTMLAudioElement[];
    return Promise.all(
      audios.map(async a => {
        const cell = cells.findIndex((c: any) => c.node === a.closest('.jp-Cell'));
        const src =
          a.getAttribute('src') ||
          (Array.from(a.querySelectorAll('source')) as HTMLSourceElement[]).map(s => s.src).find(Boolean) ||
          '';
        const comma = src.indexOf(',');
        const scheme = src.startsWith('data:') ? src.slice(0, comma) : src.split(':')[0];
        const base64Head = src.startsWith('data:') ? src.slice(comma + 1, comma + 9) : '';
        try {
          const buf = new Uint8Array(await (await fetch(src)).arrayBuffer());
          const head = String.fromCharCode(...Array.from(buf.slice(0, 12)));
          return { cell, scheme, head, base64Head, bytes: buf.length };
        } catch (e) {
          return { cell, scheme, head: '', base64Head, bytes: 0, error: String(e) };
        }
      })
    );
  });
}

/** Open `localPath` (uploaded to the test's server directory), run it, check its widgets. */
export async function checkWidgetNotebook(
  page: IJupyterLabPageFixture,
  tmpPath: string,
  localPath: string,
  exp: Expectations,
  testInfo: TestInfo,
  label: string
): Promise<Report> {
  const problems: string[] = [];
  const notes: string[] = [];
  const consoleErrors: string[] = [];
  page.on('pageerror', err => consoleErrors.push(`pageerror: ${err.message}`));
  page.on('console', msg => {
    if (msg.type() === 'error') consoleErrors.push(`console.error: ${msg.text()}`);
  });

  const tStart = Date.now();
  const secs = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
  const name = path.basename(localPath);
  await page.contents.uploadFile(localPath, `${tmpPath}/${name}`);
  if (!(await page.notebook.openByPath(`${tmpPath}/${name}`))) {
    problems.push(`could not open ${name} in JupyterLab`);
    return { problems, notes };
  }
  await page.notebook.activate(name);
  notes.push(`uploaded and opened in ${secs(tStart)}`);

  // Run all cells (the server runs kernels with TACOLIB_FAST=1).
  const t0 = Date.now();
  await page.waitForFunction(() => {
    const text = document.querySelector('#jp-main-statusbar')?.textContent ?? '';
    return !['Connecting', 'Initializing', 'Starting'].some(s => text.includes(s));
  });
  await page.evaluate(async () => {
    const app = (window as any).galata.app;
    await app.shell.currentWidget.sessionContext.ready;
    await app.commands.execute('notebook:run-all-cells');
  });
  await waitKernelIdle(page);
  notes.push(`ran all cells in ${secs(t0)}`);
  const tChecks = Date.now();
  const nbLocator = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook').first();
  await shot(page, label, '00-after-run-all', testInfo);

  const errorsAfterRun = await findErrors(page);
  problems.push(...errorsAfterRun);

  // Sliders render (ipywidgets 8: a noUiSlider inside .widget-hslider / .widget-vslider;
  // SelectionSlider's element lacks the .jupyter-widgets class that IntSlider's has).
  const sliders = nbLocator.locator('.widget-hslider, .widget-vslider');
  const nSliders = await countAtLeast(sliders, exp.sliders);
  notes.push(`${nSliders} slider(s) rendered`);
  if (nSliders < exp.sliders) {
    problems.push(`expected at least ${exp.sliders} slider(s), found ${nSliders} rendered`);
  }

  // Move each slider with the keyboard; the plotted image must change.
  const plotting = new Set(exp.slidersThatPlot ?? Array.from({ length: nSliders }, (_, i) => i));
  const sounding = new Set(exp.slidersThatSound ?? []);
  for (let i = 0; i < nSliders; i++) {
    const slider = sliders.nth(i);
    const desc = ((await slider.locator('.widget-label').first().textContent().catch(() => '')) ?? '').trim();
    const what = `slider ${i}${desc ? ` ("${desc}")` : ''}`;
    const handle = slider.locator('.noUi-handle').first();
    const readout = slider.locator('.widget-readout').first();
    const container = slider.locator('xpath=ancestor::div[contains(@class,"jp-OutputArea-output")][1]');
    await slider.scrollIntoViewIfNeeded();
    await shot(container, label, `${String(i + 1).padStart(2, '0')}-slider-before`, testInfo);

    const before = new Set(await imageHashes(page));
    const soundsBefore = new Set(await audioHashes(page));
    const errorsBefore = (await findErrors(page)).length;
    const readBefore = (await readout.textContent())?.trim();
    const now = Number(await handle.getAttribute('aria-valuenow'));
    const max = Number(await handle.getAttribute('aria-valuemax'));
    const vertical = ((await slider.getAttribute('class')) ?? '').includes('widget-vslider');
    const key = now < max ? (vertical ? 'ArrowUp' : 'ArrowRight') : vertical ? 'ArrowDown' : 'ArrowLeft';
    await handle.focus();
    await page.keyboard.press(key);

    // The readout moves at once (browser side); a new image needs the kernel.
    let readAfter = readBefore;
    let newImage = false;
    let newSound = false;
    const deadline = Date.now() + IMAGE_WAIT_MS;
    while (Date.now() < deadline) {
      readAfter = (await readout.textContent())?.trim();
      const after = await imageHashes(page);
      newImage = after.some(h => !before.has(h));
      newSound = (await audioHashes(page)).some(h => !soundsBefore.has(h));
      if (readAfter !== readBefore && (newImage || !plotting.has(i)) && (newSound || !sounding.has(i))) break;
      // A callback that raised will not plot: stop waiting once its traceback shows.
      if ((await findErrors(page)).length > errorsBefore) break;
      await page.waitForTimeout(250);
    }
    await waitKernelIdle(page);
    if (!newImage) newImage = (await imageHashes(page)).some(h => !before.has(h));
    if (!newSound) newSound = (await audioHashes(page)).some(h => !soundsBefore.has(h));
    await shot(container, label, `${String(i + 1).padStart(2, '0')}-slider-after-${key}`, testInfo);

    if (readAfter === readBefore) {
      problems.push(`${what}: ${key} did not move it (readout stayed "${readBefore}")`);
    } else {
      notes.push(`${what}: ${key} moved it ${readBefore} -> ${readAfter}`);
    }
    if (plotting.has(i)) {
      if (newImage) {
        notes.push(`${what}: a new image was plotted`);
      } else {
        problems.push(`${what}: moving it did not change the plotted image`);
      }
    }
    if (sounding.has(i)) {
      if (newSound) notes.push(`${what}: a new sound was rendered`);
      else problems.push(`${what}: moving it did not change the audio`);
    }
  }

  // Toggle buttons: click each other choice; the audio (and/or image) must change.
  if (exp.toggles) {
    const groups = nbLocator.locator('.widget-toggle-buttons');
    const nGroups = await countAtLeast(groups, exp.toggles.groups);
    notes.push(`${nGroups} toggle-button group(s) rendered`);
    if (nGroups < exp.toggles.groups) {
      problems.push(`expected at least ${exp.toggles.groups} toggle-button group(s), found ${nGroups} rendered`);
    }
    for (let g = 0; g < nGroups; g++) {
      const buttons = groups.nth(g).locator('button');
      const nButtons = await buttons.count();
      const container = groups.nth(g).locator('xpath=ancestor::div[contains(@class,"jp-OutputArea-output")][1]');
      await groups.nth(g).scrollIntoViewIfNeeded();
      await shot(container, label, `${String(40 + g)}-toggles-before`, testInfo);
      for (let b = 0; b < nButtons; b++) {
        const button = buttons.nth(b);
        if (((await button.getAttribute('class')) ?? '').includes('mod-active')) continue;
        const name = ((await button.textContent()) ?? '').trim();
        const what = `toggle group ${g}, button "${name}"`;
        const imgsBefore = new Set(await imageHashes(page));
        const soundsBefore = new Set(await audioHashes(page));
        const errorsBefore = (await findErrors(page)).length;
        await button.click();
        let newImage = false;
        let newSound = false;
        let active = false;
        const deadline = Date.now() + IMAGE_WAIT_MS;
        while (Date.now() < deadline) {
          active = ((await button.getAttribute('class')) ?? '').includes('mod-active');
          newImage = (await imageHashes(page)).some(h => !imgsBefore.has(h));
          newSound = (await audioHashes(page)).some(h => !soundsBefore.has(h));
          if (active && (newSound || !exp.toggles.changesAudio) && (newImage || !exp.toggles.changesImage)) break;
          if ((await findErrors(page)).length > errorsBefore) break;
          await page.waitForTimeout(250);
        }
        await waitKernelIdle(page);
        if (!active) problems.push(`${what}: clicking did not select it`);
        if (exp.toggles.changesAudio) {
          if (newSound) notes.push(`${what}: the player now holds a different sound`);
          else problems.push(`${what}: clicking it did not change the audio`);
        }
        if (exp.toggles.changesImage) {
          if (newImage) notes.push(`${what}: a new image was plotted`);
          else problems.push(`${what}: clicking it did not change the plotted image`);
        }
      }
      await shot(container, label, `${String(40 + g)}-toggles-after`, testInfo);
    }
  }

  // Text box: type, expect the outputs to show the result.
  if (exp.textInput) {
    const input = nbLocator.locator('.jupyter-widgets.widget-text input, .jupyter-widgets.widget-textarea textarea').first();
    if (!(await countAtLeast(input, 1))) {
      problems.push('expected a text box widget, found none rendered');
    } else {
      await input.scrollIntoViewIfNeeded();
      await input.fill('');
      await input.pressSequentially(exp.textInput.text, { delay: 10 });
      // Enter submits a one-line Text (continuous_update=False); in a Textarea it would add a newline.
      if ((await input.evaluate(el => el.tagName)) === 'INPUT') await input.press('Enter');
      // The kernel answers through the widget's comm: poll for the expected text.
      let seen = false;
      const deadline = Date.now() + IMAGE_WAIT_MS;
      while (!seen && Date.now() < deadline) {
        seen = exp.textInput.expect.test((await nbLocator.innerText()) ?? '');
        if (!seen) await page.waitForTimeout(250);
      }
      await waitKernelIdle(page);
      const container = input.locator('xpath=ancestor::div[contains(@class,"jp-OutputArea-output")][1]');
      await shot(container, label, '20-text-box', testInfo);
      if (seen) {
        notes.push(`text box: typing "${exp.textInput.text}" showed ${exp.textInput.expect}`);
      } else {
        problems.push(`text box: typing "${exp.textInput.text}" did not show ${exp.textInput.expect}`);
      }
    }
  }

  // Audio elements carry WAV data.
  await countAtLeast(nbLocator.locator('.jp-OutputArea-output audio'), exp.audios);
  const audios = await audioInfo(page);
  notes.push(`${audios.length} audio element(s)`);
  if (audios.length < exp.audios) {
    problems.push(`expected at least ${exp.audios} audio element(s), found ${audios.length}`);
  }
  audios.forEach((a, k) => {
    const where = `audio ${k} (cell ${a.cell})`;
    const isWav = a.head.startsWith('RIFF') && a.head.slice(8, 12) === 'WAVE' && a.bytes > 44;
    const dataOk = a.scheme === 'blob' || /^data:audio\/(x-)?wav;base64$/.test(a.scheme);
    if (a.error) problems.push(`${where}: could not read its source: ${a.error}`);
    else if (!dataOk) problems.push(`${where}: source is ${a.scheme}, not WAV data`);
    else if (!isWav) problems.push(`${where}: data is not a RIFF/WAVE file (starts ${JSON.stringify(a.head)})`);
    else if (a.scheme.startsWith('data:') && !a.base64Head.startsWith('UklGR'))
      problems.push(`${where}: base64 payload does not start with RIFF`);
    else notes.push(`${where}: ${a.scheme}, ${a.bytes} bytes, RIFF/WAVE`);
  });
  const audioEls = nbLocator.locator('.jp-OutputArea-output audio');
  for (let k = 0; k < Math.min(await audioEls.count(), 4); k++) {
    await audioEls.nth(k).scrollIntoViewIfNeeded();
    await shot(audioEls.nth(k), label, `30-audio-${k}`, testInfo);
  }

  // No error anywhere after the interaction (callbacks run on every move).
  for (const e of await findErrors(page)) {
    if (!errorsAfterRun.includes(e)) problems.push(`after interacting: ${e}`);
  }
  await shot(page, label, '99-end', testInfo);
  notes.push(`checks and screenshots took ${secs(tChecks)}; ${secs(tStart)} in all`);

  const widgetConsole = consoleErrors.filter(e => /widget|jupyter-widgets|ipywidgets/i.test(e));
  for (const e of widgetConsole) problems.push(`browser console: ${e.slice(0, 300)}`);
  if (consoleErrors.length) notes.push(`${consoleErrors.length} browser console error(s), ${widgetConsole.length} about widgets`);

  const log = path.join(ARTIFACTS, 'screenshots', label, 'report.txt');
  fs.mkdirSync(path.dirname(log), { recursive: true });
  fs.writeFileSync(
    log,
    [`notebook: ${path.relative(REPO, localPath)}`, '', 'problems:', ...problems.map(p => `  - ${p}`), '', 'notes:', ...notes.map(n => `  - ${n}`), '', 'browser console errors:', ...consoleErrors.map(e => `  - ${e}`), ''].join('\n')
  );
  return { problems, notes };
}
