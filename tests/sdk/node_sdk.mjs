// Integration test: Segment's official Node SDK (@segment/analytics-node) against a running
// `intent serve`, then the read API checks the profile it made.
//
//   INTENT_URL=http://127.0.0.1:PORT INTENT_WRITE_KEY=iw_... INTENT_ADMIN_TOKEN=ia_... node node_sdk.mjs
//
// Needs a server started with plans/showroom.yaml. Exits 0 when every check passes, 1 otherwise.

import { Analytics } from '@segment/analytics-node'
import { checker, getJson, poll, requireEnv } from './lib.mjs'

const URL_ = requireEnv('INTENT_URL').replace(/\/+$/, '')
const WRITE_KEY = requireEnv('INTENT_WRITE_KEY')
const ADMIN = requireEnv('INTENT_ADMIN_TOKEN')

const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
const anonId = `node-anon-${run}`
const userId = `node-user-${run}`
const email = `ada.node.${run}@example.com`
const dupId = `node-dup-${run}`

const { check, eq, done } = checker('node')

// Record every response the server gives the SDK (the SDK only reports failures).
const responses = []
const recordingFetch = async (url, init) => {
  const res = await fetch(url, init)
  let body = null
  try {
    body = JSON.parse(await res.clone().text())
  } catch {}
  responses.push({ url, status: res.status, body, sent: JSON.parse(init.body) })
  return res
}

const analytics = new Analytics({
  writeKey: WRITE_KEY,
  host: URL_,
  path: '/v1/batch',
  flushAt: 20,
  flushInterval: 200,
  maxRetries: 1,
  httpClient: recordingFetch,
})
const sdkErrors = []
analytics.on('error', (err) => sdkErrors.push(err))

// Each call's callback says whether the SDK delivered it.
const delivered = []
const sent = (label) => (err, ctx) => delivered.push({ label, err, messageId: ctx?.event?.messageId })

// 1) An anonymous visitor reads about financing (the SDK puts `category` into properties.category).
analytics.page(
  { anonymousId: anonId, category: 'financing', name: 'Financing', properties: { path: '/financing' } },
  sent('page'),
)
// 2) The visitor identifies: the anonymous id joins the user.
analytics.identify(
  { userId, anonymousId: anonId, traits: { email, firstName: 'Ada' } },
  sent('identify'),
)
// 3) Downloads an offer (15 points).
analytics.track({ userId, event: 'Offer Downloaded', properties: { model: 'cx-5' } }, sent('offer'))
// 4) Taps "ask a person" (override: hot at once) with an explicit message id ...
const cta = { userId, event: 'CTA Tapped', properties: { cta: 'ask_person' }, messageId: dupId }
analytics.track(cta, sent('cta'))
// ... which the SDK retries in the same batch (a duplicate inside one request) ...
analytics.track(cta, sent('cta-dup-same-batch'))
await analytics.flush()
// ... and once more in a later request (a duplicate across requests).
analytics.track(cta, sent('cta-dup-next-batch'))
await analytics.closeAndFlush({ timeout: 10000 })

const SENT = 6
const DUPLICATES = 2
const EXPECTED_EVENTS = SENT - DUPLICATES

// --- What the SDK saw ---------------------------------------------------------------------------
eq('SDK delivery callbacks', delivered.length, SENT)
for (const d of delivered) check(`SDK delivered ${d.label}`, !d.err, d.err && String(d.err.message || d.err))
eq('SDK error events', sdkErrors.map((e) => String(e?.reason || e?.message || e?.code || e)), [])
check('SDK posted to /v1/batch', responses.length >= 2 && responses.every((r) => r.url === `${URL_}/v1/batch`),
  responses.map((r) => r.url))
for (const r of responses) eq(`HTTP status of a batch of ${r.sent.batch?.length}`, r.status, 200)
const sum = (k) => responses.reduce((n, r) => n + (Number(r.body?.[k]) || 0), 0)
eq('server-acknowledged accepted (sum over batches)', sum('accepted'), EXPECTED_EVENTS)
eq('server-acknowledged duplicates (sum over batches)', sum('duplicates'), DUPLICATES)
eq('server rejected nothing', responses.flatMap((r) => r.body?.rejected || []), [])

// --- What the server made of it -----------------------------------------------------------------
const canonical = `user:${userId}`
// Ingestion acknowledges after the write; poll briefly all the same.
const profilePath = `/v1/profiles/${encodeURIComponent(canonical)}`
const p = await poll(async () => {
  const r = await getJson(URL_, ADMIN, profilePath)
  return { ok: r.status === 200 && r.body.events >= EXPECTED_EVENTS, value: r }
})
eq('GET profile status', p.status, 200, p.body)
const prof = p.body || {}
eq('profile id', prof.id, canonical)
eq('profile ids (anonymous id merged into the user)', [...(prof.ids || [])].sort(), [`anon:${anonId}`, canonical].sort())
eq('tier', prof.tier, 'hot')
eq('override', prof.override, 'ask_person')
eq('reason', prof.reason, 'Asked for a person at the kiosk')
eq('events (sent minus duplicates)', prof.events, EXPECTED_EVENTS)
eq('traits.email', prof.traits?.email, email)
eq('traits.firstName', prof.traits?.firstName, 'Ada')
// financing page 6 + offer 15, decayed by a few seconds at most (half-life 14 days).
check('score is financing (6) + offer (15)', typeof prof.score === 'number' && prof.score > 20.99 && prof.score <= 21,
  prof.score)
const pageMsg = delivered.find((d) => d.label === 'page')?.messageId
const offerMsg = delivered.find((d) => d.label === 'offer')?.messageId
// In canonical order (time, then message id): two events the SDK stamps in the same millisecond
// come in message-id order, so compare them sorted by rule.
const byRule = (a, b) => a[0].localeCompare(b[0])
eq('explanation: the signals that scored, with their messages',
  (prof.explanation || []).map((c) => [c.rule, c.awarded, c.message_id]).sort(byRule),
  [['financing_page', 6, pageMsg], ['offer_download', 15, offerMsg]])

// The anonymous id alone finds the same (merged) profile.
const byAnon = await getJson(URL_, ADMIN, `/v1/profiles/${encodeURIComponent(`anon:${anonId}`)}`)
eq('profile by anonymous id resolves to the user', byAnon.body?.id, canonical)

// The timeline: each message once, the SDK's message ids kept.
const tl = await getJson(URL_, ADMIN, `/v1/profiles/${encodeURIComponent(canonical)}/events?limit=100`)
eq('timeline status', tl.status, 200, tl.body)
eq('timeline total', tl.body?.total, EXPECTED_EVENTS)
const items = tl.body?.items || []
const ids = items.map((e) => e.messageId)
eq('timeline message ids are unique', new Set(ids).size, ids.length)
eq('duplicate message id kept once', ids.filter((i) => i === dupId).length, 1)
const sdkIds = new Set(delivered.map((d) => d.messageId))
check('timeline message ids are the ones the SDK generated', ids.every((i) => sdkIds.has(i)), { ids, sdk: [...sdkIds] })
eq('timeline event types', items.map((e) => `${e.type}:${e.name ?? ''}`).sort(),
  ['identify:', 'page:Financing', 'track:CTA Tapped', 'track:Offer Downloaded'].sort())
const page = items.find((e) => e.type === 'page')
eq('page properties.category', page?.properties?.category, 'financing')
eq('page anonymousId', page?.anonymousId, anonId)

// Search by the e-mail (a trait value) finds the profile.
const s = await getJson(URL_, ADMIN, `/v1/search?q=${encodeURIComponent(email)}`)
eq('search status', s.status, 200, s.body)
eq('search by e-mail finds exactly the profile', (s.body?.items || []).map((i) => i.id), [canonical])

// The hot queue lists it.
const q = await getJson(URL_, ADMIN, '/v1/queue?tier=hot&limit=1000')
check('hot queue lists the profile', (q.body?.items || []).some((i) => i.id === canonical), q.body)

// Reading needs the admin token: the write key is refused.
const forbidden = await getJson(URL_, WRITE_KEY, `/v1/profiles/${encodeURIComponent(canonical)}`)
eq('write key cannot read profiles', forbidden.status, 403)

done({ user: userId, events: prof.events, tier: prof.tier, score: prof.score })
