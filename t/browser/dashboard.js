#!/usr/bin/env node
// Drives the hub's dashboard in headless Chromium for t/50-dashboard.t.
//
//   node dashboard.js URL EXPECT.json OUTDIR
//
// Opens URL, waits until the page says it is connected (and prints
// "connected"), then reads the page every 100 ms until it shows what
// EXPECT.json says it should ({"dns": [names], "packets": {kitchen: {layer:
// count}}, "kitchens": [names]}), or until the timeout. Kitchens are only
// listed while they are connected, so every kitchen the status panel ever
// showed is remembered. Screenshots go to OUTDIR: live.png while the page
// shows every expected kitchen together with DNS names and the chart (the
// last such moment, to a second), final.png at the end. Then a JSON report is printed on one line;
// the test makes its assertions on that. Finally, while the test restarts
// the hub, the page must lose its connection and get it back by itself:
// {"reconnected": true} is printed when it has, false after a timeout.
'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const [url, expectFile, outDir] = process.argv.slice(2);
const expect = JSON.parse(fs.readFileSync(expectFile, 'utf8'));
const TIMEOUT_MS = Number(process.env.DASHBOARD_TIMEOUT_MS || 60000);

// What the page shows, read from the DOM and its data attributes.
function readPage() {
  const all = (sel) => [...document.querySelectorAll(sel)];
  const packets = {};
  for (const g of all('#packet-chart g.bar')) {
    const k = g.dataset.kitchen;
    packets[k] = packets[k] || {};
    packets[k][g.dataset.layer] = Number(g.dataset.count);
  }
  return {
    connection: document.body.dataset.connection,
    dns: all('#dns-feed li').map((li) => li.dataset.hostname),
    packets,
    kitchens: all('#kitchens tbody tr').map((tr) => tr.dataset.kitchen),
    eaters: all('#eaters tbody tr').map((tr) => tr.dataset.eater),
    arp: all('#arp-feed li').length,
    cards: all('#latest .card').map((c) => `${c.dataset.chef}/${c.dataset.kitchen}`),
    totalIn: Number(document.getElementById('total-in').dataset.value),
  };
}

function sameCounts(got, want) {
  const a = Object.keys(got || {}).sort();
  const b = Object.keys(want).sort();
  return a.length === b.length && b.every((k, i) => a[i] === k && got[k] === want[k]);
}

function done(seen, page) {
  return expect.dns.every((n) => page.dns.includes(n)) &&
    Object.entries(expect.packets).every(([k, c]) => sameCounts(page.packets[k], c)) &&
    expect.kitchens.every((k) => seen.has(k));
}

function showsEverything(page) {
  return expect.kitchens.every((k) => page.kitchens.includes(k)) &&
    page.dns.length > 0 && Object.keys(page.packets).length > 0;
}

async function main() {
  // a persistent context is how playwright takes a fresh --user-data-dir
  const context = await chromium.launchPersistentContext(path.join(outDir, 'profile'), {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
           '--disable-background-networking', '--disable-component-update',
           '--disable-sync'],
    viewport: { width: 1280, height: 1000 },
  });
  const report = { errors: [] };
  try {
    const page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (e) => report.errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && report.errors.push(m.text()));
    await page.goto(url);
    await page.waitForSelector('body[data-connection="open"]', { timeout: 20000 });
    console.log('connected');
    const seen = new Set();
    const deadline = Date.now() + TIMEOUT_MS;
    let live = 0;
    let shown;
    for (;;) {
      shown = await page.evaluate(readPage);
      shown.kitchens.forEach((k) => seen.add(k));
      // retaken every second, so it is the fullest picture with the kitchens on
      if (Date.now() - live > 1000 && showsEverything(shown)) {
        live = Date.now();
        await page.screenshot({ path: path.join(outDir, 'live.png'), fullPage: true });
      }
      if (done(seen, shown) || Date.now() > deadline) break;
      await page.waitForTimeout(100);
    }
    // one more redraw, so the final picture is what the page settled on
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(outDir, 'final.png'), fullPage: true });
    report.page = shown;
    report.kitchensSeen = [...seen].sort();
    console.log(JSON.stringify(report));
    console.log(JSON.stringify({ reconnected: await reconnects(page) }));
  } finally {
    await context.close();
  }
}

async function reconnects(page) {
  const state = () => page.evaluate(() => document.body.dataset.connection);
  const deadline = Date.now() + 30000;
  let lost = false;
  while (Date.now() < deadline) {
    const now = await state();
    if (now !== 'open') lost = true;
    else if (lost) return true;
    await page.waitForTimeout(50);
  }
  return false;
}

main().catch((e) => {
  console.log(JSON.stringify({ fatal: String(e && e.stack || e) }));
  process.exit(1);
});
