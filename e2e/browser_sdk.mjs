// End-to-end test: Segment's browser SDK (@segment/analytics-next) in headless Chromium against a
// real `intent serve`, from a page on another origin (a dealership's showroom kiosk).
//
//   node e2e/browser_sdk.mjs target/debug/intent        (or: bash e2e/run.sh target/debug/intent)
//
// Starts the server itself (fresh data folder, a write key and an admin token, plans/showroom.yaml,
// a free loopback port), serves a kiosk page and the SDK's UMD build from a second local HTTP
// server, and drives the page in Chromium (/usr/bin/chromium, or $CHROMIUM) through playwright-core:
// the SDK loads its settings from intent's settings route, then a visitor reads about financing
// (page), leaves a loyalty card and an e-mail (identify), gets an offer (track) and asks for a
// person (track). Checks what went over the wire and what the admin API made of it. Saves
// e2e/screenshots/browser-sdk.png. Exits 0 when every check passes, 1 when a check fails, 2 when
// the setup fails. E2E_DEBUG=1 also prints the network as DevTools saw it (preflights included),
// the SDK's requests, the page console and one stored message.

import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { SetupError, checks, poll, setup, show, sleep, withTimeout } from './lib.mjs'

const NAME = 'browser-sdk'
const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '..')
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
const PLAN = path.join(root, 'plans', 'showroom.yaml')
const SDK_DIR = path.join(here, 'node_modules', '@segment', 'analytics-next')
const UMD_DIR = path.join(SDK_DIR, 'dist', 'umd')
const SCREENSHOT = path.join(here, 'screenshots', 'browser-sdk.png')
const started = Date.now()

// The browser SDK's short paths (first letter of the event type) and the full ones.
const INGEST_PATHS = new Set(['/v1/t', '/v1/p', '/v1/i', '/v1/g', '/v1/a', '/v1/s', '/v1/b', '/v1/m',
  '/v1/track', '/v1/page', '/v1/identify', '/v1/group', '/v1/alias', '/v1/screen', '/v1/batch', '/v1/import'])

// --- checks -------------------------------------------------------------------------------------

const checked = checks(NAME)
const { check, eq, failures } = checked

// --- resources and their cleanup ----------------------------------------------------------------

let work = null // temp folder: data, Chromium profile
let server = null // intent serve
let serverErr = '' // its stderr (the tail is printed on failure)
let staticServer = null
let context = null // Chromium (a persistent context owns its browser)

function serverLog() {
  if (!serverErr.trim()) return
  const lines = serverErr.trimEnd().split('\n')
  console.error(`--- intent serve stderr (last ${Math.min(40, lines.length)} lines) ---`)
  console.error(lines.slice(-40).join('\n'))
}

async function cleanup() {
  if (context) {
    const c = context
    context = null
    await withTimeout(c.close(), 5000, 'closing Chromium').catch(() => {})
  }
  if (staticServer) {
    staticServer.closeAllConnections?.()
    staticServer.close()
    staticServer = null
  }
  if (server && server.exitCode === null && server.signalCode === null) {
    const s = server
    const exited = new Promise((r) => s.once('exit', r))
    s.kill('SIGTERM')
    const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)])
    if (!done) s.kill('SIGKILL')
  }
  server = null
  if (work) {
    fs.rmSync(work, { recursive: true, force: true })
    work = null
  }
}
// Last resort when the process leaves without `cleanup` (an uncaught error, a signal).
process.on('exit', () => {
  if (server && server.exitCode === null) server.kill('SIGKILL')
  if (work) fs.rmSync(work, { recursive: true, force: true })
})
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`[${NAME}] interrupted (${sig})`)
    cleanup().finally(() => process.exit(130))
  })
}

// --- intent serve -------------------------------------------------------------------------------

function makeKey(bin, data, kind, name) {
  try {
    const out = execFileSync(bin, ['keys', 'create', '--data', data, '--kind', kind, '--name', name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim()
    if (!out || /\s/.test(out)) setup(`\`intent keys create --kind ${kind}\` printed ${show(out)}, not one secret`)
    return out
  } catch (e) {
    if (e instanceof SetupError) throw e
    setup(`could not make a ${kind} key: ${(e.stderr || e.message || e).toString().trim()}`)
  }
}

async function startIntent(bin) {
  const data = path.join(work, 'data')
  const writeKey = makeKey(bin, data, 'write', 'website')
  const adminToken = makeKey(bin, data, 'admin', 'ops')

  server = spawn(bin, ['serve', '--data', data, '--listen', '127.0.0.1:0', '--plan', PLAN], {
    env: { ...process.env, INTENT_LOG: process.env.INTENT_LOG || 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  server.stderr.setEncoding('utf8')
  server.stderr.on('data', (d) => {
    serverErr += d
    if (serverErr.length > 200_000) serverErr = serverErr.slice(-100_000)
  })
  const url = await withTimeout(
    new Promise((resolve, reject) => {
      let out = ''
      server.stdout.setEncoding('utf8')
      server.stdout.on('data', (d) => {
        out += d
        const nl = out.indexOf('\n')
        if (nl < 0) return
        const m = /^listening on (http:\/\/\S+)$/.exec(out.slice(0, nl).trim())
        if (m) resolve(m[1].replace(/\/+$/, ''))
        else reject(new SetupError(`intent serve's first line is not 'listening on http://…': ${show(out.slice(0, nl))}`))
      })
      server.once('exit', (code, sig) =>
        reject(new SetupError(`intent serve exited (${sig || `code ${code}`}) before listening`)))
      server.once('error', (e) => reject(new SetupError(`could not start ${bin}: ${e.message}`)))
    }),
    30000,
    "intent serve's 'listening on' line",
  )
  const ready = await poll(async () => {
    if (server.exitCode !== null) setup('intent serve exited before it was ready')
    try {
      return (await fetch(`${url}/readyz`)).status === 200
    } catch {
      return false
    }
  }, 30000, 100)
  if (!ready) setup(`${url}/readyz did not answer 200 in 30 s`)
  return { url, writeKey, adminToken }
}

async function admin(base, token, p) {
  const res = await fetch(`${base}${p}`, { headers: { Authorization: `Bearer ${token}` } })
  const text = await res.text()
  let body = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: res.status, body }
}

// --- the kiosk's web server (another origin) ----------------------------------------------------

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.map': 'application/json' }

function startStatic(config) {
  const served = [] // { path, status }
  const kiosk = fs.readFileSync(path.join(here, 'kiosk.html'))
  const configJs = `window.KIOSK_CONFIG = ${JSON.stringify(config)};\n`
  const srv = http.createServer((req, res) => {
    const p = new URL(req.url, 'http://kiosk').pathname
    const send = (status, type, body) => {
      served.push({ path: p, status })
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' })
      res.end(body)
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'GET only\n')
    if (p === '/' || p === '/kiosk.html') return send(200, TYPES['.html'], kiosk)
    if (p === '/config.js') return send(200, TYPES['.js'], configJs)
    // The UMD build and the chunks it loads (webpack public path '': next to the page).
    const file = path.join(UMD_DIR, path.normalize(p).replace(/^([/\\])+/, ''))
    if (file.startsWith(UMD_DIR + path.sep) && fs.existsSync(file) && fs.statSync(file).isFile()) {
      return send(200, TYPES[path.extname(file)] || 'application/octet-stream', fs.readFileSync(file))
    }
    return send(404, 'text/plain', 'not found\n')
  })
  return new Promise((resolve, reject) => {
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      staticServer = srv
      // `localhost`, not 127.0.0.1: another site than intent's, as a dealership website would be.
      resolve({ origin: `http://localhost:${srv.address().port}`, served })
    })
  })
}

// --- the test -----------------------------------------------------------------------------------

async function main() {
  if (process.argv.length !== 3) {
    console.error(`usage: node ${path.relative(process.cwd(), fileURLToPath(import.meta.url))} <path-to-intent-binary>`)
    process.exit(2)
  }
  const bin = path.resolve(process.argv[2])
  try {
    fs.accessSync(bin, fs.constants.X_OK)
  } catch {
    setup(`no executable intent binary at ${bin} (build it: cargo build -p intent-cli)`)
  }
  try {
    fs.accessSync(CHROMIUM, fs.constants.X_OK)
  } catch {
    setup(`no Chromium at ${CHROMIUM} (apt-get install chromium)`)
  }
  if (!fs.existsSync(path.join(UMD_DIR, 'index.js'))) setup(`no UMD build at ${UMD_DIR} (run npm ci in ${here})`)
  const sdkVersion = JSON.parse(fs.readFileSync(path.join(SDK_DIR, 'package.json'), 'utf8')).version

  work = fs.mkdtempSync(path.join(os.tmpdir(), 'intent-e2e-'))
  const { url: intent, writeKey, adminToken } = await startIntent(bin)
  const intentOrigin = new URL(intent).origin
  const { origin: kioskOrigin, served } = await startStatic({ intent, writeKey })
  check('the kiosk page is on another origin than intent', kioskOrigin !== intentOrigin, [kioskOrigin, intentOrigin])

  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
  const userId = `browser-user-${run}`
  const email = `ada.browser.${run}@example.com`
  const probeUser = `browser-cors-probe-${run}`

  // --- Chromium -------------------------------------------------------------------------------
  context = await withTimeout(
    chromium.launchPersistentContext(path.join(work, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1180, height: 760 },
    }),
    20000,
    'launching Chromium',
  )
  const chromiumVersion = context.browser()?.version() ?? 'unknown'
  const page = context.pages()[0] ?? (await context.newPage())
  page.setDefaultTimeout(10000)

  // Everything the page sends and gets.
  const requests = [] // { method, url, origin, path, headers, body }
  const responses = [] // { method, url, origin, path, status, headers, body }
  const pending = []
  const failed = []
  const consoleErrors = []
  const consoleAll = []
  page.on('request', (req) => {
    const u = new URL(req.url())
    if (!/^https?:$/.test(u.protocol)) return
    const entry = { method: req.method(), url: req.url(), origin: u.origin, path: u.pathname, body: req.postData() }
    requests.push(entry)
    pending.push(req.allHeaders().then((h) => (entry.headers = h), () => (entry.headers = req.headers())))
  })
  page.on('response', (res) => {
    const u = new URL(res.url())
    if (!/^https?:$/.test(u.protocol)) return
    const entry = { method: res.request().method(), url: res.url(), origin: u.origin, path: u.pathname, status: res.status(),
      headers: res.headers() }
    responses.push(entry)
    if (u.origin === intentOrigin) {
      pending.push(res.text().then((t) => {
        try {
          entry.body = JSON.parse(t)
        } catch {
          entry.body = t
        }
      }, (e) => (entry.body = `<unreadable: ${e.message}>`)))
    }
  })
  page.on('requestfailed', (req) => failed.push({ url: req.url(), error: req.failure()?.errorText }))
  page.on('console', (msg) => {
    consoleAll.push(`${msg.type()}: ${msg.text()}`)
    if (msg.type() === 'error') consoleErrors.push(msg.text())
  })
  page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`))

  // CORS preflights (OPTIONS) are not page requests for Playwright; DevTools reports them.
  const cdpRequests = new Map()
  const cdp = await context.newCDPSession(page)
  cdp.on('Network.requestWillBeSent', (e) =>
    cdpRequests.set(e.requestId, { method: e.request.method, url: e.request.url, type: e.type, headers: e.request.headers }))
  cdp.on('Network.responseReceived', (e) => {
    const r = cdpRequests.get(e.requestId) ?? { url: e.response.url, type: e.type }
    r.status = e.response.status
    r.responseHeaders = e.response.headers
    cdpRequests.set(e.requestId, r)
  })
  await cdp.send('Network.enable')

  // --- The kiosk loads the SDK, which fetches its settings from intent -----------------------
  await page.goto(`${kioskOrigin}/`)
  const loaded = await withTimeout(
    page.evaluate(() =>
      window.analytics.then(([a]) => ({ version: a.VERSION, anonymousId: a.user().anonymousId() }))),
    10000,
    'AnalyticsBrowser.load (the settings from intent)',
  ).catch((e) => setup(`${e.message}; console: ${show(consoleAll)}`))
  const anonId = loaded.anonymousId
  check('the SDK has an anonymousId', typeof anonId === 'string' && anonId.length >= 10, anonId)
  eq('the loaded SDK version', loaded.version, sdkVersion)

  // --- A visitor at the kiosk -----------------------------------------------------------------
  const waitSent = (n) =>
    page.waitForFunction((k) => window.sent.length >= k, n).catch(() => {})
  await page.click('#open-financing')
  await waitSent(1)
  await page.fill('#card', userId)
  await page.fill('#email', email)
  await page.click('#get-offer')
  await waitSent(3)
  await page.click('#ask-person')
  await waitSent(4)
  const sent = await page.evaluate(() => window.sent)
  eq('SDK calls resolved', sent.map((s) => s.label), ['Financing', 'identify', 'Offer Downloaded', 'CTA Tapped'])
  for (const s of sent) check(`SDK call ${s.label} resolved without error`, !s.error && s.messageId, s)
  await page.waitForSelector('#status:has-text("An advisor is on the way.")').catch(() => {})

  // The SDK sends after the calls resolve: wait for the four answers.
  const isIngest = (r) => r.origin === intentOrigin && r.method === 'POST'
  await poll(() => responses.filter(isIngest).length >= 4, 10000)
  const anonAfter = await page.evaluate(() => window.analytics.then(([a]) => a.user().anonymousId()))
  eq('anonymousId after identify is the same', anonAfter, anonId)

  // --- An explicit cross-origin request with Authorization (a CORS preflight) ----------------
  const probe = await page.evaluate(async ({ intent, writeKey, probeUser }) => {
    const post = async (key) => {
      try {
        const r = await fetch(`${intent}/v1/track`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Basic ${btoa(`${key}:`)}` },
          body: JSON.stringify({ userId: probeUser, event: 'Kiosk Checked', properties: { kiosk: 'k1' } }),
        })
        return { status: r.status, body: await r.text() }
      } catch (e) {
        return { error: String(e) }
      }
    }
    return { good: await post(writeKey), bad: await post('iw_not_a_key') }
  }, { intent, writeKey, probeUser })
  eq('cross-origin POST /v1/track with Authorization: status', probe.good.status, 200, probe.good)
  let probeBody = null
  try {
    probeBody = JSON.parse(probe.good.body)
  } catch {}
  eq('cross-origin POST /v1/track: body', probeBody, { success: true, accepted: 1, duplicates: 0 }, probe.good)
  // A refusal must carry the CORS headers too, or the page only sees a network error.
  eq('cross-origin POST with a wrong write key: a readable 401', probe.bad.status, 401, probe.bad)

  await Promise.allSettled(pending.splice(0))
  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true })
  fs.rmSync(SCREENSHOT, { force: true })
  const shot = await page.screenshot({ path: SCREENSHOT, fullPage: true }).then((b) => b.length, (e) => e.message)
  check('screenshot saved', typeof shot === 'number' && shot > 10000 && fs.existsSync(SCREENSHOT), shot)
  await Promise.allSettled(pending.splice(0))

  // --- What went over the wire ----------------------------------------------------------------
  const settingsPath = `/v1/projects/${writeKey}/settings`
  const settings = responses.filter((r) => r.origin === intentOrigin && r.path === settingsPath)
  eq('settings fetched from intent once, answered 200', settings.map((r) => [r.method, r.status]), [['GET', 200]], responses.map((r) => r.url))
  eq('settings tell the SDK to send to intent',
    settings[0]?.body?.integrations?.['Segment.io']?.apiHost, `${new URL(intent).host}/v1`, settings[0]?.body)

  const sdkRequests = requests.filter((r) => isIngest(r) && r.path !== '/v1/track')
  const sdkResponses = responses.filter((r) => isIngest(r) && r.path !== '/v1/track')
  eq('SDK ingestion paths (short paths)', sdkRequests.map((r) => r.path).sort(), ['/v1/i', '/v1/p', '/v1/t', '/v1/t'],
    sdkRequests.map((r) => r.url))
  check('SDK ingestion paths are all known intent routes', sdkRequests.every((r) => INGEST_PATHS.has(r.path)), sdkRequests.map((r) => r.path))
  eq('SDK ingestion statuses', sdkResponses.map((r) => r.status), [200, 200, 200, 200], sdkResponses.map((r) => [r.path, r.status, r.body]))
  for (const r of sdkResponses) {
    eq(`intent's answer to ${r.path}`, r.body, { success: true, accepted: 1, duplicates: 0 })
  }
  const sentIds = sent.map((s) => s.messageId)
  const expectedAuth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`
  for (const r of sdkRequests) {
    const ct = r.headers?.['content-type']
    check(`${r.path} Content-Type is text/plain`, typeof ct === 'string' && /^text\/plain\b/.test(ct), ct)
    eq(`${r.path} Authorization is the write key (HTTP Basic)`, r.headers?.authorization, expectedAuth)
    eq(`${r.path} is cross-site from the kiosk page`, [r.headers?.origin, r.headers?.['sec-fetch-site'], r.headers?.['sec-fetch-mode']],
      [kioskOrigin, 'cross-site', 'cors'])
    let body = null
    try {
      body = JSON.parse(r.body)
    } catch {}
    check(`${r.path} body is JSON`, body !== null, r.body)
    eq(`${r.path} body type matches the short path`, body?.type?.[0], r.path.slice(-1), body)
    eq(`${r.path} body anonymousId`, body?.anonymousId, anonId)
    eq(`${r.path} body writeKey`, body?.writeKey, writeKey)
    check(`${r.path} body messageId is one the SDK resolved`, sentIds.includes(body?.messageId), [body?.messageId, sentIds])
  }
  const intentResponses = responses.filter((r) => r.origin === intentOrigin)
  eq('every intent response to the page has Access-Control-Allow-Origin: *',
    intentResponses.filter((r) => r.headers['access-control-allow-origin'] !== '*').map((r) => [r.method, r.path, r.status, r.headers]), [])
  eq('responses the page got from intent', intentResponses.length, 1 + 4 + 2)
  const elsewhere = requests.filter((r) => r.origin !== intentOrigin && r.origin !== kioskOrigin)
  eq('no requests to other hosts (no Segment CDN or API)', elsewhere.map((r) => r.url), [])
  eq('failed requests', failed, [])
  eq('kiosk server: every file found', served.filter((s) => s.status !== 200), [])
  eq('console errors about CORS', consoleErrors.filter((t) => /CORS|Access-Control|cross-origin/i.test(t)), [], consoleAll)
  // The one expected console error: the wrong-write-key probe's 401.
  eq('console errors', consoleErrors.filter((t) => !/status of 401/.test(t)), [], consoleAll)

  // Preflights, as DevTools saw them: the SDK's (text/plain + Authorization) and the probe's.
  const preflights = [...cdpRequests.values()].filter((r) => r.method === 'OPTIONS' || r.type === 'Preflight')
  const preflightFor = (p) => preflights.filter((r) => new URL(r.url).pathname === p)
  check('DevTools saw CORS preflights to intent', preflights.length > 0, [...cdpRequests.values()].map((r) => [r.method, r.type, r.url]))
  for (const p of ['/v1/track', ...new Set(sdkRequests.map((r) => r.path))]) {
    const f = preflightFor(p)
    check(`preflight OPTIONS ${p} answered 2xx`, f.length > 0 && f.every((r) => r.status >= 200 && r.status < 300),
      f.map((r) => [r.status, r.responseHeaders]))
  }
  const trackPreflight = preflightFor('/v1/track').find((r) => r.responseHeaders)
  const allowHeaders = Object.entries(trackPreflight?.responseHeaders ?? {})
    .find(([k]) => k.toLowerCase() === 'access-control-allow-headers')?.[1] ?? ''
  check('preflight allows the Authorization header', /authorization/i.test(allowHeaders), trackPreflight?.responseHeaders)

  if (process.env.E2E_DEBUG) {
    console.error('--- network (DevTools) ---')
    for (const r of cdpRequests.values()) console.error(r.method, r.type, r.status, r.url, show(r.responseHeaders ?? {}))
    console.error('--- SDK requests ---')
    for (const r of sdkRequests) console.error(r.method, r.path, show(r.headers), r.body)
    console.error('--- console ---')
    for (const c of consoleAll) console.error(c)
  }

  // --- What intent made of it (admin API) -----------------------------------------------------
  const canonical = `user:${userId}`
  const profilePath = `/v1/profiles/${encodeURIComponent(canonical)}`
  const p = await poll(async () => {
    const r = await admin(intent, adminToken, profilePath)
    return r.status === 200 && r.body.events >= 4 ? r : null
  }, 5000) || (await admin(intent, adminToken, profilePath))
  eq('GET profile status', p.status, 200, p.body)
  const prof = p.body || {}
  eq('profile id', prof.id, canonical)
  eq('profile ids: the SDK anonymousId merged into the user', [...(prof.ids || [])].sort(), [`anon:${anonId}`, canonical].sort())
  eq('tier', prof.tier, 'hot')
  eq('override', prof.override, 'ask_person')
  eq('reason', prof.reason, 'Asked for a person at the kiosk')
  eq('events', prof.events, 4)
  eq('traits.email', prof.traits?.email, email)
  check('score is financing (6) + offer (15)', typeof prof.score === 'number' && prof.score > 20.99 && prof.score <= 21, prof.score)
  const msgOf = (label) => sent.find((s) => s.label === label)?.messageId
  eq('explanation: the signals that scored, with the SDK message ids',
    (prof.explanation || []).map((c) => [c.rule, c.awarded, c.message_id]),
    [['financing_page', 6, msgOf('Financing')], ['offer_download', 15, msgOf('Offer Downloaded')]])

  const byAnon = await admin(intent, adminToken, `/v1/profiles/${encodeURIComponent(`anon:${anonId}`)}`)
  eq('profile by the SDK anonymousId resolves to the user', byAnon.body?.id, canonical, byAnon.body)

  const tl = await admin(intent, adminToken, `${profilePath}/events?limit=100`)
  eq('timeline status', tl.status, 200, tl.body)
  const items = tl.body?.items || []
  eq('timeline total', tl.body?.total, 4)
  eq('timeline message ids are the SDK ones', items.map((e) => e.messageId).sort(), [...sentIds].sort())
  eq('timeline event types', items.map((e) => `${e.type}:${e.name ?? ''}`).sort(),
    ['identify:', 'page:Financing', 'track:CTA Tapped', 'track:Offer Downloaded'].sort())
  eq('timeline channels (the browser sends none)', items.map((e) => e.channel), [null, null, null, null])
  const pageEv = items.find((e) => e.type === 'page')
  eq('page properties.category', pageEv?.properties?.category, 'financing')
  eq('page anonymousId', pageEv?.anonymousId, anonId)
  eq('CTA properties.cta', items.find((e) => e.name === 'CTA Tapped')?.properties?.cta, 'ask_person')

  // The stored messages keep the browser's context.
  for (const s of sent) {
    const m = await admin(intent, adminToken, `/v1/messages/${encodeURIComponent(s.messageId)}`)
    const msg = m.body?.message
    eq(`stored ${s.label}: status`, m.status, 200, m.body)
    eq(`stored ${s.label}: messageId`, msg?.messageId, s.messageId)
    check(`stored ${s.label}: context.userAgent is Chromium's`, /Chrom/.test(msg?.context?.userAgent ?? ''), msg?.context?.userAgent)
    check(`stored ${s.label}: context.page.url is the kiosk page`, (msg?.context?.page?.url ?? '').startsWith(`${kioskOrigin}/`), msg?.context?.page)
    eq(`stored ${s.label}: context.page.title`, msg?.context?.page?.title, 'Showroom kiosk · Nowak Auto Group')
    eq(`stored ${s.label}: the write key is not kept`, msg && 'writeKey' in msg, false)
    eq(`stored ${s.label}: context.source is the write key's name`, msg?.context?.source, 'website')
    eq(`stored ${s.label}: context.library.name`, msg?.context?.library?.name, 'analytics.js')
    check(`stored ${s.label}: context.library.version names the SDK version`,
      String(msg?.context?.library?.version ?? '').includes(sdkVersion), msg?.context?.library)
  }

  if (process.env.E2E_DEBUG) {
    const m = await admin(intent, adminToken, `/v1/messages/${encodeURIComponent(msgOf('Offer Downloaded'))}`)
    console.error('--- stored Offer Downloaded ---')
    console.error(JSON.stringify(m.body, null, 1))
    console.error('--- sent Offer Downloaded ---')
    console.error(sdkRequests.find((r) => r.body?.includes('Offer Downloaded'))?.body)
  }

  // The probe's profile, and the write key cannot read.
  const pp = await admin(intent, adminToken, `/v1/profiles/${encodeURIComponent(`user:${probeUser}`)}`)
  eq('the cross-origin probe made its profile', [pp.status, pp.body?.events], [200, 1], pp.body)
  const forbidden = await fetch(`${intent}${profilePath}`, { headers: { Authorization: `Bearer ${writeKey}` } })
  eq('write key cannot read profiles', forbidden.status, 403)

  return {
    sdk: `@segment/analytics-next@${sdkVersion}`,
    chromium: chromiumVersion,
    kiosk: kioskOrigin,
    intent,
    user: canonical,
    anonymousId: anonId,
    tier: prof.tier,
    override: prof.override,
    events: prof.events,
    score: prof.score,
    sdkRequests: sdkRequests.map((r) => r.path),
  }
}

let summary = null
let code = 0
const watchdog = setTimeout(() => {
  console.error(`[${NAME}] FAIL the test took longer than 90 s`)
  serverLog()
  cleanup().finally(() => process.exit(1))
}, 90000)
try {
  summary = await main()
  if (failures.length) code = 1
} catch (e) {
  code = e instanceof SetupError ? 2 : 1
  console.error(`[${NAME}] ${e instanceof SetupError ? 'SETUP FAILED' : 'FAIL (error)'}: ${e instanceof SetupError ? e.message : e.stack || e}`)
}
if (code !== 0) serverLog()
await cleanup()
clearTimeout(watchdog)
const secs = ((Date.now() - started) / 1000).toFixed(1)
if (code === 0) {
  console.log(`[${NAME}] ${checked.passed} checks passed in ${secs} s ${show(summary)}`)
} else if (failures.length) {
  console.error(`[${NAME}] ${failures.length} of ${checked.passed + failures.length} checks failed (${secs} s): ${failures.join('; ')}`)
}
process.exit(code)
