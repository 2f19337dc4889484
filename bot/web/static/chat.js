// Loa — web chat page. Plain ES2020, no dependencies. All text goes in via textContent / text nodes.
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const app = $('app'), list = $('messages'), scroller = $('scroller'), form = $('composer');
  const resetBtn = $('reset'), RESET_LABEL = resetBtn.textContent;
  const input = $('text'), sendBtn = $('send'), typing = $('typing'), notice = $('notice'), counter = $('counter');
  const API = (app.dataset.apiBase || '/api/chat').replace(/\/+$/, '');
  const HOTLINE = (app.dataset.hotline || '').replace(/\D/g, '');
  const MAX = 2000, WARN = 1800, KEEP = 50, POLL_MS = 4000, TIMEOUT_MS = 20000;
  const FALLBACK = 'Không gửi được tin nhắn. Bạn vui lòng thử lại.';
  const EMERGENCY = new Set(['111', '112', '113', '114', '115']);
  // In the widget's frame the server keeps the conversation in a cookie for that portal only.
  const EMBED = app.dataset.embed ? { 'X-Loa-Embed': '1' } : {};

  const store = {
    get(s, k) { try { return window[s].getItem(k); } catch { return null; } },
    set(s, k, v) { try { window[s].setItem(k, v); } catch { /* storage unavailable: fine */ } },
  };

  function uuid4() {
    if (window.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
    const b = new Uint8Array(16);
    if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(b);
    else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // The conversation itself is named by the server's HttpOnly cookie, which this script cannot
  // read; ``tab`` only ties this tab's saved bubbles to the conversation they belong to.
  let tab = store.get('sessionStorage', 'loa.tab') || uuid4();
  store.set('sessionStorage', 'loa.tab', tab);
  let lastId = Number(store.get('localStorage', 'loa.last')) || 0;
  const seen = new Set();
  const hist = [];
  let busy = false, lateUntil = 0, pollTimer = 0, polling = false, pollFails = 0;

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const el = (tag, cls) => { const e = document.createElement(tag); if (cls) e.className = cls; return e; };
  const scrollDown = () => { scroller.scrollTop = scroller.scrollHeight; };

  function save() {
    const items = hist.slice(-KEEP).map(({ r, t, id, b, d }) => ({ r, t, id, b, d }));
    store.set('sessionStorage', 'loa.history', JSON.stringify({ s: tab, items }));
  }

  // Phone numbers (digits and spaces only) become tel: links; everything else stays plain text.
  function isPhone(d) {
    return EMERGENCY.has(d) || (HOTLINE && d === HOTLINE)
      || (d.length >= 8 && d.length <= 12 && /^(0|84|1800|1900)/.test(d));
  }
  function fillText(node, text) {
    const re = /\+?\d[\d ]*\d/g;
    let last = 0, m;
    while ((m = re.exec(text))) {
      const digits = m[0].replace(/\D/g, '');
      if (!isPhone(digits)) continue;
      node.append(text.slice(last, m.index));
      const a = el('a');
      a.href = 'tel:' + (m[0].startsWith('+') ? '+' : '') + digits;
      a.textContent = m[0];
      node.append(a);
      last = m.index + m[0].length;
    }
    node.append(text.slice(last));
  }

  function setDone(entry, done) {
    entry.d = done;
    if (entry._chips) entry._chips.querySelectorAll('button').forEach((b) => { b.disabled = done; });
    save();
  }

  function render(entry) {
    entry._els = [];
    if (entry.t) {
      const bubble = el('div', 'msg ' + entry.r);
      if (entry.r === 'bot') fillText(bubble, entry.t); else bubble.textContent = entry.t;
      if (entry.id != null) bubble.dataset.id = String(entry.id);
      entry._els.push(bubble);
    }
    if (entry.b && entry.b.length) {
      const wrap = el('div', 'chips');
      wrap.setAttribute('role', 'group');
      for (const btn of entry.b) {
        const b = el('button', 'chip');
        b.type = 'button';
        b.textContent = btn.title;
        b.disabled = !!entry.d;
        b.addEventListener('click', () => {
          if (busy || entry.d) return;
          setDone(entry, true);
          const body = btn.payload ? { payload: btn.payload, title: btn.title } : { text: btn.title };
          send(body, btn.title, () => setDone(entry, false));
        });
        wrap.append(b);
      }
      entry._chips = wrap;
      entry._els.push(wrap);
    }
    list.append(...entry._els);
    scrollDown();
  }

  function addEntry(entry) { hist.push(entry); render(entry); save(); return entry; }
  function removeEntry(entry) {
    (entry._els || []).forEach((n) => n.remove());
    if (hist.includes(entry)) hist.splice(hist.indexOf(entry), 1);
    save();
  }

  function addReplies(replies) {
    let n = 0;
    for (const r of Array.isArray(replies) ? replies : []) {
      if (!r || typeof r !== 'object') continue;
      const id = r.id == null ? null : r.id;
      if (id != null) {
        if (seen.has(String(id))) continue;
        seen.add(String(id));
        const num = Number(id);
        if (Number.isFinite(num) && num > lastId) { lastId = num; store.set('localStorage', 'loa.last', String(num)); }
      }
      const t = typeof r.text === 'string' ? r.text : '';
      const b = (Array.isArray(r.buttons) ? r.buttons : [])
        .filter((x) => x && typeof x.title === 'string' && x.title.trim())
        .map((x) => ({ title: x.title, payload: typeof x.payload === 'string' ? x.payload : '' }));
      if (!t && !b.length) continue;
      addEntry({ r: 'bot', t, id, b: b.length ? b : undefined, d: false });
      n++;
    }
    return n;
  }

  function showNotice(text, info) { notice.textContent = text; notice.classList.toggle('info', !!info); notice.hidden = false; }
  const hideNotice = () => { notice.hidden = true; notice.textContent = ''; };

  function updateUI() {
    sendBtn.disabled = busy;
    typing.hidden = !(busy || Date.now() < lateUntil);
    if (!typing.hidden) scrollDown();
  }

  function fetchT(url, opts) { // a hung request counts as a network failure
    const ctl = new AbortController(), timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    return fetch(url, { ...opts, signal: ctl.signal, credentials: 'same-origin' }).finally(() => clearTimeout(timer));
  }

  // POST one message; on network failure retry the SAME message_id (1 s, 2 s, 4 s) — the server dedupes.
  async function postMessage(body) {
    const json = JSON.stringify({ message_id: uuid4(), ...body });
    for (let attempt = 0; ; attempt++) {
      let res;
      try {
        res = await fetchT(API + '/messages', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...EMBED },
          body: json,
        });
      } catch (err) {
        if (attempt >= 3) throw new Error(FALLBACK);
        showNotice('Mạng đang chập chờn, Loa đang thử gửi lại…', true);
        await sleep(1000 * 2 ** attempt);
        continue;
      }
      const data = await res.json().catch(() => null);
      if (!res.ok) {
        const detail = data && typeof data.detail === 'string' && data.detail.trim();
        throw new Error(detail || FALLBACK);
      }
      return data && Array.isArray(data.replies) ? data.replies : [];
    }
  }

  async function send(body, shown, onFail) {
    if (busy) return;
    busy = true; hideNotice(); updateUI();
    const mine = addEntry({ r: 'user', t: shown });
    try {
      const replies = await postMessage(body);
      hideNotice();
      // Nothing yet (system busy): keep the typing dots for a while; polling brings the answer.
      if (!addReplies(replies)) lateUntil = Date.now() + 60000;
    } catch (err) {
      removeEntry(mine);
      showNotice((err && err.message) || FALLBACK);
      if (onFail) onFail();
    } finally { busy = false; updateUI(); }
  }

  // Poll for late replies every 4 s while the tab is visible.
  function schedule() {
    clearTimeout(pollTimer);
    if (!document.hidden) pollTimer = setTimeout(poll, Math.min(POLL_MS * 2 ** pollFails, 60000));
  }
  async function poll() {
    if (document.hidden) return;
    if (busy || polling) { schedule(); return; }
    polling = true;
    try {
      const url = `${API}/messages?after=${encodeURIComponent(lastId)}`;
      const res = await fetchT(url, { headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(String(res.status));
      const data = await res.json();
      if (addReplies(data && data.replies)) lateUntil = 0;
      pollFails = 0;
    } catch (err) {
      pollFails = Math.min(pollFails + 1, 4);
    } finally { polling = false; updateUI(); schedule(); }
  }
  document.addEventListener('visibilitychange', () => { if (!document.hidden) poll(); else clearTimeout(pollTimer); });

  // Composer
  function resize() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + (input.offsetHeight - input.clientHeight), 160) + 'px';
  }
  function updateCounter() {
    const len = input.value.length;
    counter.hidden = len <= WARN;
    counter.textContent = `${len}/${MAX}`;
    counter.classList.toggle('full', len >= MAX);
  }
  const setInput = (v) => { if (v !== null) input.value = v; resize(); updateCounter(); };
  input.addEventListener('input', () => setInput(null));
  input.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || e.shiftKey || e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event('submit', { cancelable: true }));
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (busy) return;
    const raw = input.value;
    const text = raw.trim();
    if (text.length > MAX) { showNotice(`Tin nhắn dài quá ${MAX} ký tự. Bạn vui lòng rút gọn lại.`); return; }
    setInput('');
    if (!text) { input.focus(); return; }
    send({ text }, text, () => { if (!input.value.trim()) setInput(raw); });
  });
  // "Xóa cuộc trò chuyện": a second press within 5 s confirms; the server forgets this browser's
  // conversation (staff still see it) and the next message starts a new one.
  let resetArmed = 0;
  resetBtn.addEventListener('click', async () => {
    if (busy) return;
    if (Date.now() > resetArmed) {
      resetArmed = Date.now() + 5000;
      resetBtn.textContent = 'Bấm lần nữa để xóa';
      setTimeout(() => { if (Date.now() > resetArmed) resetBtn.textContent = RESET_LABEL; }, 5100);
      return;
    }
    resetArmed = 0;
    resetBtn.textContent = RESET_LABEL;
    try {
      const res = await fetchT(API + '/reset', { method: 'POST', headers: { Accept: 'application/json', ...EMBED } });
      if (!res.ok) throw new Error(String(res.status));
    } catch (err) { showNotice(FALLBACK); return; }
    while (hist.length) removeEntry(hist[hist.length - 1]);
    seen.clear();
    lateUntil = 0;
    tab = uuid4();
    store.set('sessionStorage', 'loa.tab', tab);
    save();
    showNotice('Đã xóa cuộc trò chuyện trên máy này. Bạn có thể bắt đầu hỏi lại từ đầu.', true);
    updateUI();
    input.focus();
  });
  document.querySelectorAll('.suggestions [data-text]').forEach((b) => {
    b.addEventListener('click', () => { if (!busy) send({ text: b.dataset.text }, b.dataset.text); });
  });

  // In the portal's widget frame: Escape closes the widget (its page cannot see our keys), and
  // the widget asks for the focus when it opens.
  if (EMBED['X-Loa-Embed'] && window.parent !== window) {
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') window.parent.postMessage({ loa: 'close' }, '*'); // says nothing private
    });
    window.addEventListener('message', (e) => {
      if (e.source === window.parent && e.data && e.data.loa === 'focus') input.focus();
    });
  }

  // Re-render the last bubbles of this tab's conversation, then start polling.
  try {
    const saved = JSON.parse(store.get('sessionStorage', 'loa.history') || 'null');
    if (saved && saved.s === tab && Array.isArray(saved.items)) {
      for (const it of saved.items) {
        if (!it || (it.r !== 'bot' && it.r !== 'user') || typeof it.t !== 'string') continue;
        const b = Array.isArray(it.b) ? it.b.filter((x) => x && typeof x.title === 'string')
          .map((x) => ({ title: x.title, payload: typeof x.payload === 'string' ? x.payload : '' })) : undefined;
        const entry = { r: it.r, t: it.t, id: it.id ?? null, b, d: !!it.d };
        if (entry.id != null) seen.add(String(entry.id));
        hist.push(entry);
        render(entry);
      }
    }
  } catch { /* corrupt history: start fresh */ }
  updateCounter();
  updateUI();
  poll();
})();
