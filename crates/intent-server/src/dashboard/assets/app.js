// Intent Engine dashboard: keeps the queue live and counts SLA time down. No dependencies.
'use strict'
;(function () {
  const lang = document.documentElement.lang || 'en'
  const words = {
    en: { left: 'left', overdue: 'overdue by' },
    pl: { left: 'zostało', overdue: 'spóźnienie' },
  }[lang] || { left: 'left', overdue: 'overdue by' }

  function two(n) { return n < 10 ? '0' + n : '' + n }
  function countdown() {
    const now = Date.now()
    for (const el of document.querySelectorAll('.sla[data-due]')) {
      const secs = Math.round((Number(el.dataset.due) - now) / 1000)
      const abs = Math.abs(secs)
      const text = abs >= 3600
        ? Math.floor(abs / 3600) + ' h ' + two(Math.floor((abs % 3600) / 60)) + ' min'
        : Math.floor(abs / 60) + ':' + two(abs % 60)
      el.textContent = secs < 0 ? words.overdue + ' ' + text : text + ' ' + words.left
      el.classList.toggle('late', secs < 0)
    }
  }
  setInterval(countdown, 1000)

  const lanes = document.getElementById('lanes')
  const live = document.getElementById('live')
  if (!lanes || !live || !window.EventSource) return

  let pending = null
  let inflight = false
  let again = false
  const fresh = new Set()
  async function refresh() {
    pending = null
    if (inflight) { again = true; return }
    inflight = true
    try {
      const res = await fetch('/queue/lanes' + location.search, { credentials: 'same-origin' })
      if (res.status === 401) { location.reload(); return }
      if (res.ok) {
        const html = await res.text()
        // Keep a form the user is working in (an open result menu) from being replaced under them.
        const active = document.activeElement
        const current = document.getElementById('lanes')
        if (active && active.tagName === 'SELECT' && current && current.contains(active)) { again = true; return }
        const box = document.getElementById('lanes')
        box.outerHTML = html
        for (const id of fresh) {
          const card = document.querySelector('.card[data-profile="' + CSS.escape(id) + '"]')
          if (card) card.classList.add('fresh')
        }
        countdown()
        document.dispatchEvent(new CustomEvent('lanes:updated'))
      }
    } catch (e) {
      again = true
    } finally {
      inflight = false
      if (again) { again = false; schedule(500) }
    }
  }
  // At most one fetch a second however busy the showroom is; the first change after a quiet
  // spell is fetched within 100 ms.
  let last = 0
  function schedule(ms) {
    if (pending) return
    const wait = Math.max(ms, 1000 - (Date.now() - last))
    pending = setTimeout(() => { last = Date.now(); refresh() }, wait)
  }

  const es = new EventSource('/live')
  es.addEventListener('open', () => { live.dataset.state = 'open' })
  es.addEventListener('error', () => { live.dataset.state = 'reconnecting' })
  es.addEventListener('change', (ev) => {
    try {
      const d = JSON.parse(ev.data)
      if (d.profile) { fresh.add(d.profile); setTimeout(() => fresh.delete(d.profile), 10000) }
    } catch (e) { /* an empty change: read everything again */ }
    schedule(100)
  })
  // Scores drift with time even without events: a quiet refresh every 30 s.
  setInterval(() => schedule(0), 30000)
})()
