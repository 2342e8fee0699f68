// chatroom's browser client: one WebSocket speaking the JSON protocol of
// docs/protocol.md. No framework, no build step, no inline code (the
// server's Content-Security-Policy forbids it). Text from the network is
// only ever put in the page with textContent, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);

// What the page knows. A room keeps its events by id, so a replay after a
// reconnection adds only what is missing.
const state = {
  socket: null,
  me: null,            // the welcome: pseudo, user, colour, room, token
  current: null,       // the room shown
  rooms: new Map(),    // name -> {ids: Set, lastId, oldestId, more, unread, marker}
  outbox: [],          // what was typed while the socket was down
  retry: 0,
  login: null,         // {pseudo, room} typed at the start
  notify: false,
};

const SAVED = 'chatroom.session';

function save() {
  if (!state.me) return;
  const last = {};
  for (const [name, r] of state.rooms) last[name] = r.lastId;
  sessionStorage.setItem(SAVED, JSON.stringify({token: state.me.token,
    room: state.current, last}));
}

// ---- colours: the server's xterm-256 indexes ------------------------------

function xterm(index) {
  if (typeof index !== 'number' || index < 0) return '';
  const base = ['#000000', '#cd0000', '#00cd00', '#cdcd00', '#0000ee', '#cd00cd',
    '#00cdcd', '#e5e5e5', '#7f7f7f', '#ff0000', '#00ff00', '#ffff00', '#5c5cff',
    '#ff00ff', '#00ffff', '#ffffff'];
  if (index < 16) return base[index];
  if (index < 232) {
    const i = index - 16, steps = [0, 95, 135, 175, 215, 255];
    return `rgb(${steps[Math.floor(i / 36)]}, ${steps[Math.floor(i / 6) % 6]}, ${steps[i % 6]})`;
  }
  const g = 8 + (index - 232) * 10;
  return `rgb(${g}, ${g}, ${g})`;
}

// ---- drawing the log --------------------------------------------------------

function hhmm(ms) {
  const d = ms ? new Date(ms) : new Date();
  return `[${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}]`;
}

function room(name) {
  if (!state.rooms.has(name)) {
    state.rooms.set(name, {ids: new Set(), lastId: 0, oldestId: 0, more: false,
      unread: 0, marker: false, items: []});
  }
  return state.rooms.get(name);
}

// A line of the log: [hh:mm], then parts, each {text, cls, colour}.
function line(parts, cls, time) {
  const li = document.createElement('li');
  if (cls) li.className = cls;
  const stamp = document.createElement('time');
  stamp.textContent = hhmm(time) + ' ';
  li.append(stamp);
  for (const p of parts) {
    if (p instanceof Node) {
      li.append(p);
      continue;
    }
    const span = document.createElement('span');
    span.textContent = p.text;
    if (p.cls) span.className = p.cls;
    if (p.colour) span.style.color = p.colour;
    li.append(span);
  }
  return li;
}

function picture(ev) {
  if (ev.data && /^image\/(png|jpeg)$/.test(ev.mime)) {
    const img = document.createElement('img');
    img.src = `data:${ev.mime};base64,${ev.data}`;
    img.alt = `image ${ev.width}×${ev.height} de ${ev.pseudo}`;
    img.className = 'picture';
    return img;
  }
  const pre = document.createElement('pre');
  pre.className = 'drawing';
  pre.textContent = ev.text || '';
  return pre;
}

// The log element for one event, or null for an event not drawn.
function render(ev) {
  const mine = state.me && ev.user === state.me.user && ev.user !== 0;
  const who = {text: ev.pseudo, cls: 'who', colour: xterm(ev.colour)};
  // Its own drop and return, replayed after a reconnection, are no news.
  if (mine && (ev.kind === 'leave' || ev.kind === 'return')) return null;
  switch (ev.kind) {
    case 'message':
      if (mine) return line([{text: 'Vous avez dit : '}, {text: ev.text}], 'mine', ev.time);
      return line([who, {text: ' a dit : '}, {text: ev.text, cls: 'text'}], 'message', ev.time);
    case 'image': {
      const head = mine ? [{text: 'Vous avez envoyé une image :'}]
        : [who, {text: ` a envoyé une image (${ev.width}×${ev.height}) :`}];
      const li = line(head, mine ? 'mine' : 'message', ev.time);
      li.append(picture(ev));
      return li;
    }
    case 'join':
      return line([{text: 'Annonce : '}, who,
        {text: ev.default ? ' a rejoint la chatroom' : ` a rejoint le salon ${ev.room}`}], 'notice', ev.time);
    case 'leave':
      return line([{text: 'Annonce : '}, who,
        {text: ev.default ? ' a quitté la chatroom' : ` a quitté le salon ${ev.room}`}], 'notice', ev.time);
    case 'return':
      return line([who, {text: ' est de retour !'}], 'notice', ev.time);
    case 'action':
      return line([{text: '* '}, who, {text: ` ${ev.text}`}], 'action', ev.time);
    case 'nick':
      // The event carries the old pseudo; its text is the new one.
      // Ours, in order (replayed ones too): the newest rename wins.
      if (mine) {
        state.me.pseudo = ev.text;
        $('me').textContent = ev.text;
      }
      return line([{text: 'Annonce : '}, who, {text: ` s'appelle désormais ${ev.text}`}], 'notice', ev.time);
    case 'topic':
      return line([{text: 'Annonce : '}, who, {text: ` a changé le sujet : ${ev.text}`}], 'notice', ev.time);
    default:
      return null;
  }
}

const log = $('log');

function atBottom() {
  return log.scrollHeight - log.scrollTop - log.clientHeight < 40;
}

function show(li, r) {
  r.items.push(li);
  if (r === state.rooms.get(state.current)) {
    const stick = atBottom();
    log.append(li);
    if (stick) log.scrollTop = log.scrollHeight;
  }
}

// A notice of the page or the server, in the room shown.
function notice(text, cls) {
  const name = state.current;
  const li = line([{text}], cls || 'notice');
  if (name) show(li, room(name));
  else log.append(li);
}

function marker(r, text, cls) {
  const li = document.createElement('li');
  li.className = cls || 'marker';
  li.textContent = text;
  return li;
}

// Events of a room, new or replayed: each id once, in order.
function add(ev, live) {
  const r = room(ev.room);
  if (ev.id && r.ids.has(ev.id)) return;
  if (ev.id) {
    r.ids.add(ev.id);
    r.lastId = Math.max(r.lastId, ev.id);
    if (!r.oldestId || ev.id < r.oldestId) r.oldestId = ev.id;
  }
  const li = render(ev);
  if (!li) return;
  li.dataset.id = ev.id || '';
  const away = ev.room !== state.current || document.hidden;
  if (live && away && (ev.kind === 'message' || ev.kind === 'image')) {
    if (!r.marker) {
      // One marker a room: where its unread messages begin now.
      r.items = r.items.filter((li) => li.className !== 'marker');
      for (const old of log.querySelectorAll('li.marker:not(.lost)')) {
        if (r === state.rooms.get(state.current)) old.remove();
      }
      r.marker = true;
      show(marker(r, '— nouveaux messages —'), r);
    }
    r.unread++;
    drawRooms();
  }
  show(li, r);
  if (live) mention(ev);
  save();
}

// Older events (scrolling up): put before what is shown.
function prepend(r, events) {
  const first = log.firstChild;
  const before = log.scrollHeight;
  const items = [];
  for (const ev of events) {
    if (r.ids.has(ev.id)) continue;
    r.ids.add(ev.id);
    if (!r.oldestId || ev.id < r.oldestId) r.oldestId = ev.id;
    const li = render(ev);
    if (li) items.push(li);
  }
  r.items.unshift(...items);
  for (const li of items) log.insertBefore(li, first);
  log.scrollTop += log.scrollHeight - before;
}

function drawRooms() {
  const ul = $('rooms');
  ul.replaceChildren();
  for (const [name, r] of state.rooms) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = name === state.current ? 'room current' : 'room';
    b.textContent = name;
    if (r.unread > 0) {
      const n = document.createElement('span');
      n.className = 'unread';
      n.textContent = String(r.unread);
      b.append(' ', n);
    }
    b.addEventListener('click', () => {
      if (name === state.current) showRoom(name);
      else send({type: 'command', line: `/join ${name}`});
    });
    li.append(b);
    ul.append(li);
  }
}

function showRoom(name) {
  const r = room(name);
  const before = state.current && state.rooms.get(state.current);
  if (before && before !== r) before.marker = false;
  state.current = name;
  $('room-name').textContent = name;
  log.replaceChildren(...r.items);
  log.scrollTop = log.scrollHeight;
  r.unread = 0;
  drawRooms();
}

// ---- notifications (asked for, never assumed) ------------------------------

function mention(ev) {
  if (!state.notify || !state.me || ev.kind !== 'message') return;
  if (ev.user === state.me.user) return;
  const named = ev.text.toLowerCase().includes(state.me.pseudo.toLowerCase());
  if (named && (document.hidden || !document.hasFocus())) {
    new Notification(`${ev.pseudo} (${ev.room})`, {body: ev.text});
  }
}

$('notify').addEventListener('click', async () => {
  if (!('Notification' in window)) {
    notice('Ce navigateur ne sait pas prévenir.');
    return;
  }
  const answer = await Notification.requestPermission();
  state.notify = answer === 'granted';
  $('notify').setAttribute('aria-pressed', String(state.notify));
  notice(state.notify ? 'Vous serez prévenu quand on vous nomme.'
    : 'Pas de notifications : le navigateur les refuse.');
});

// ---- the socket ---------------------------------------------------------------

function send(msg) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN && state.me) {
    state.socket.send(JSON.stringify(msg));
    return true;
  }
  state.outbox.push(msg);
  return false;
}

function status(text, cls) {
  $('status').textContent = text;
  $('status').className = `status ${cls || ''}`;
}

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${scheme}://${location.host}/ws`);
  state.socket = ws;
  status('connexion…');
  ws.addEventListener('open', () => {
    const saved = JSON.parse(sessionStorage.getItem(SAVED) || 'null');
    if (saved && saved.token) {
      const after = state.current ? room(state.current).lastId : (saved.last || {})[saved.room] || 0;
      ws.send(JSON.stringify({type: 'hello', token: saved.token, after}));
    } else {
      const hello = {type: 'hello', pseudo: state.login.pseudo};
      if (state.login.room) hello.room = state.login.room;
      ws.send(JSON.stringify(hello));
    }
  });
  ws.addEventListener('message', (e) => {
    let m;
    try {
      m = JSON.parse(e.data);
    } catch {
      return;
    }
    receive(m);
  });
  ws.addEventListener('close', () => {
    if (state.socket !== ws) return;
    state.socket = null;
    if (!state.me) return;
    status('hors ligne : reconnexion…', 'off');
    const wait = Math.min(5000, 250 * 2 ** state.retry++);
    setTimeout(connect, wait);
  });
}

function receive(m) {
  switch (m.type) {
    case 'welcome':
      welcome(m);
      break;
    case 'event':
      add(m, true);
      break;
    case 'history':
      history(m);
      break;
    case 'info':
      notice(m.text, m.kind === 'stopping' ? 'error' : m.kind === 'private' ? 'private' : 'notice');
      break;
    case 'found':
      notice(`── recherche « ${m.query} » : ${m.events.length} résultat(s) ──`);
      for (const ev of m.events) notice(`#${ev.room} ${ev.pseudo} a dit : ${ev.text}`);
      if (m.cut) notice('── il y en a d\'autres : précisez la recherche ──');
      break;
    case 'error':
      if (!state.me) {
        $('login-error').textContent = m.text;
        if (m.code === 'token') {
          sessionStorage.removeItem(SAVED);
          $('chat').hidden = true;
          $('login').hidden = false;
        }
        return;
      }
      notice(`Erreur : ${m.text}`, 'error');
      break;
    case 'list':
      notice(m.kind === 'rooms'
        ? `Salons : ${m.entries.map((e) => `${e.name} (${e.count})`).join(', ')}`
        : `Dans ${m.room} : ${m.entries.map((e) => e.name).join(', ')}`);
      break;
    default:
      break; // a later version's: skipped
  }
}

function welcome(m) {
  state.me = m;
  state.retry = 0;
  $('login').hidden = true;
  $('chat').hidden = false;
  $('me').textContent = m.pseudo;
  $('me').style.color = xterm(m.colour);
  status('en ligne', 'on');
  room(m.room);
  showRoom(m.room);
  save();
  $('text').focus();
}

function history(m) {
  const r = room(m.room);
  if (m.room !== state.current) showRoom(m.room);
  if (m.truncated) {
    show(marker(r, '— historique tronqué : des messages ont été perdus —', 'marker lost'), r);
  }
  if (m.before > 0) {
    r.more = m.more;
    prepend(r, m.events);
  } else {
    if (m.after === 0) r.more = m.more;
    for (const ev of m.events) add(ev, false);
  }
  // What was typed while away goes now that the room is in sight.
  const waiting = state.outbox.splice(0);
  for (const msg of waiting) send(msg);
  save();
}

// Older history when scrolled to the top.
log.addEventListener('scroll', () => {
  const r = state.current && room(state.current);
  if (r && r.more && log.scrollTop < 20 && !r.asking) {
    r.asking = true;
    send({type: 'history', room: state.current, before: r.oldestId});
    setTimeout(() => { r.asking = false; }, 1000);
  }
});

// ---- typing -----------------------------------------------------------------

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  const pseudo = $('pseudo').value.trim();
  if (!pseudo) return;
  state.login = {pseudo, room: $('room').value.trim()};
  $('login-error').textContent = '';
  sessionStorage.removeItem(SAVED);
  connect();
});

$('say').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('text').value;
  if (!text.trim()) return;
  $('text').value = '';
  if (text.startsWith('/')) {
    send({type: 'command', line: text});
    return;
  }
  // The server sends nobody their own words back: shown here.
  show(line([{text: 'Vous avez dit : '}, {text}], 'mine'), room(state.current));
  log.scrollTop = log.scrollHeight;
  send({type: 'say', text});
});

// Pictures: the upload button, or pasted.
function sendPicture(file) {
  if (!file || !/^image\/(png|jpeg)$/.test(file.type)) {
    notice('Erreur : seules les images PNG et JPEG partent', 'error');
    return;
  }
  const reader = new FileReader();
  reader.addEventListener('load', () => {
    const data = String(reader.result).split(',', 2)[1];
    const li = line([{text: 'Vous avez envoyé une image :'}], 'mine');
    li.append(picture({data, mime: file.type, width: 0, height: 0, pseudo: 'vous'}));
    show(li, room(state.current));
    send({type: 'image', mime: file.type, data});
  });
  reader.readAsDataURL(file);
}

$('upload').addEventListener('click', () => $('file').click());
$('file').addEventListener('change', () => {
  sendPicture($('file').files[0]);
  $('file').value = '';
});
document.addEventListener('paste', (e) => {
  for (const item of e.clipboardData ? e.clipboardData.items : []) {
    if (item.kind === 'file' && item.type.startsWith('image/')) {
      e.preventDefault();
      sendPicture(item.getAsFile());
      return;
    }
  }
});

// Keyboard: Alt+Up / Alt+Down go to the previous / next room; Escape
// brings the focus back to the message box.
document.addEventListener('keydown', (e) => {
  if (!state.me) return;
  if (e.key === 'Escape') {
    $('text').focus();
    return;
  }
  if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
    const names = [...state.rooms.keys()];
    const i = names.indexOf(state.current) + (e.key === 'ArrowUp' ? -1 : 1);
    if (i >= 0 && i < names.length) send({type: 'command', line: `/join ${names[i]}`});
    e.preventDefault();
  }
});

// Back to a page: the marker stays where the unread began, the count goes.
document.addEventListener('visibilitychange', () => {
  if (document.hidden && state.current) {
    room(state.current).marker = false; // the next message read there gets one
  } else if (state.current) {
    const r = room(state.current);
    r.unread = 0;
    drawRooms();
  }
});

// A reload of the tab resumes its session.
if (sessionStorage.getItem(SAVED)) {
  state.login = {pseudo: '', room: ''};
  connect();
}
