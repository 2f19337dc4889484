// Loa — the chat widget a portal pastes: <script src="https://<loa-host>/widget.js" async></script>.
// One closure, no globals, no requests until the button is pressed; everything it shows lives
// in a shadow root styled by a constructed stylesheet (no <style>, so the host's CSP style-src
// need not allow us). The chat itself is our /chat page in an iframe (same origin as its API).
(() => {
  'use strict';
  const CONFIG = {{ config | tojson }};
  const script = document.currentScript;
  if (!script || !script.src) return;
  const ORIGIN = new URL(script.src).origin;
  const data = script.dataset;
  const TITLE = (data.title || '').trim().slice(0, 80) || 'Loa — hỏi đáp về dịch bệnh';
  const LABEL = (data.label || '').trim().slice(0, 40) || 'Hỏi Loa';
  const SIDE = data.position === 'left' ? 'left' : 'right';

  // CSP source matching (scheme, host or *.host, port) for this page's origin: the frame would
  // be refused by frame-ancestors anyway, so show nothing rather than a broken panel.
  function matches(pattern, here) {
    const m = /^(https?):\/\/(\*\.)?([^:/]+)(?::(\d+))?$/.exec(pattern);
    if (!m) return false;
    const [, scheme, wild, host, port] = m;
    const schemeOk = here.protocol === scheme + ':' || (scheme === 'http' && here.protocol === 'https:');
    const name = here.hostname.toLowerCase(), want = host.toLowerCase();
    const hostOk = wild ? name.endsWith('.' + want) : name === want;
    return schemeOk && hostOk && (port || '') === here.port;
  }
  const here = new URL(window.location.href);
  if (here.origin !== ORIGIN && !CONFIG.origins.some((p) => matches(p, here))) {
    console.warn(`Loa widget: ${here.origin} is not in EMBED_ORIGINS of ${ORIGIN}; the chat is not shown.`);
    return;
  }

  // Phones, and desktops zoomed to 200 %: the panel covers the page and holds the focus.
  const FULL_SCREEN = '(max-width: 600px), (max-height: 500px)';
  const CSS = `
    :host { all: initial; }
    * { box-sizing: border-box; }
    [hidden] { display: none !important; }
    .launcher, .panel { position: fixed; z-index: 2147483000; ${SIDE}: 20px;
      font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, "Noto Sans", sans-serif; }
    .launcher { bottom: 20px; display: flex; align-items: center; gap: 8px; min-height: 48px;
      padding: 0 20px 0 14px; border: 2px solid #ffffff; border-radius: 24px; background: #0b4a75;
      color: #ffffff; font-size: 16px; font-weight: 600; line-height: 1.2; cursor: pointer;
      box-shadow: 0 4px 14px rgba(0, 0, 0, 0.3); }
    .launcher:hover { background: #083a5c; }
    .launcher svg { width: 24px; height: 24px; flex: none; }
    .launcher:focus-visible, .close:focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
    .panel { bottom: 84px; width: 380px; height: min(640px, calc(100vh - 104px));
      display: flex; flex-direction: column; background: #ffffff; border-radius: 16px;
      overflow: hidden; box-shadow: 0 8px 32px rgba(0, 0, 0, 0.35); }
    .bar { flex: none; display: flex; align-items: center; gap: 8px; min-height: 48px;
      padding: 2px 2px 2px 16px; background: #0b4a75; color: #ffffff; }
    .title { flex: 1; margin: 0; font-size: 16px; font-weight: 600; line-height: 1.3; }
    .close { flex: none; width: 44px; height: 44px; border: 0; border-radius: 8px;
      background: transparent; color: #ffffff; font: inherit; font-size: 28px; line-height: 1;
      cursor: pointer; }
    .close:hover { background: rgba(255, 255, 255, 0.15); }
    iframe { flex: 1 1 auto; width: 100%; min-height: 0; border: 0; background: #f2f5f8; }
    @media ${FULL_SCREEN} {
      .panel { inset: 0; width: auto; height: auto; border-radius: 0; }
    }
    @media (prefers-reduced-motion: no-preference) { .panel { animation: loa-in 0.15s ease-out; } }
    @keyframes loa-in { from { opacity: 0; transform: translateY(8px); } }
  `;
  const ICON = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" '
    + 'd="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 6.5a1.5 '
    + '1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zm5 0a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zm5 0a1.5 1.5 0 1 0 '
    + '0-3 1.5 1.5 0 0 0 0 3z"/></svg>';

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text) node.textContent = text;
    return node;
  }

  function mount() {
    if (document.querySelector('[data-loa-widget]')) return; // pasted twice: one widget
    const host = el('div', { 'data-loa-widget': '' });
    const root = host.attachShadow({ mode: 'open' });
    if ('adoptedStyleSheets' in root && typeof CSSStyleSheet === 'function') {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.append(el('style', {}, CSS)); // older browsers; needs style-src for us
    }
    const launcher = el('button', {
      type: 'button', class: 'launcher', 'aria-expanded': 'false', 'aria-controls': 'panel',
    });
    launcher.innerHTML = ICON; // a constant, never data
    launcher.append(el('span', {}, LABEL));
    const panel = el('div', { id: 'panel', class: 'panel', role: 'dialog', 'aria-labelledby': 'title' });
    panel.hidden = true;
    const bar = el('div', { class: 'bar' });
    const close = el('button', { type: 'button', class: 'close', 'aria-label': 'Đóng khung trò chuyện' }, '×');
    bar.append(el('p', { id: 'title', class: 'title' }, TITLE), close);
    // Full screen, the page behind cannot be seen: Tab leaving the chat comes back to the
    // bar (a frame's keys cannot be caught, its focus leaving it can).
    const back = el('span', { tabindex: '-1' });
    back.addEventListener('focus', () => close.focus());
    panel.append(bar);
    root.append(launcher, panel);
    document.body.append(host);

    let frame = null, loaded = false; // before its load the frame holds about:blank, not us
    const focusChat = () => { if (loaded) frame.contentWindow.postMessage({ loa: 'focus' }, ORIGIN); };
    function open() {
      if (!frame) { // loaded on first use only: the portal's page stays light
        frame = el('iframe', { src: `${ORIGIN}/chat?embed=1`, title: 'Trò chuyện với Loa', allow: '' });
        frame.addEventListener('load', () => { loaded = true; focusChat(); });
        panel.append(frame, back);
      }
      const full = window.matchMedia(FULL_SCREEN).matches;
      back.tabIndex = full ? 0 : -1;
      panel.setAttribute('aria-modal', String(full));
      panel.hidden = false;
      launcher.setAttribute('aria-expanded', 'true');
      focusChat();
    }
    function shut() {
      if (panel.hidden) return;
      panel.hidden = true;
      launcher.setAttribute('aria-expanded', 'false');
      launcher.focus();
    }
    launcher.addEventListener('click', () => (panel.hidden ? open() : shut()));
    close.addEventListener('click', shut);
    close.addEventListener('keydown', (e) => { // and Shift+Tab from the bar goes into the chat
      if (e.key === 'Tab' && e.shiftKey && back.tabIndex === 0 && frame) { e.preventDefault(); frame.focus(); }
    });
    panel.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.stopPropagation(); shut(); } });
    // Escape pressed inside the chat: the frame cannot reach us but by a message.
    window.addEventListener('message', (e) => {
      if (frame && e.source === frame.contentWindow && e.origin === ORIGIN && e.data && e.data.loa === 'close') shut();
    });
  }

  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount, { once: true });
})();
