// relay's web ui: search as you type, the trending tab, load more, and a
// player with a queue. Every value from a record is untrusted: text goes in
// through textContent only, and a URL reaches src or href only through
// safeURL (https, or this origin). No innerHTML anywhere.
'use strict';
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var PAGE = 30;

  // safeURL is u when it may reach a src or an href: https, or this
  // service's own origin. The server applies the same rule
  // (validate.IsMediaURL); this is the second lock.
  function safeURL(u) {
    if (typeof u !== 'string' || u === '') return '';
    try {
      var x = new URL(u, location.href);
      if (x.protocol === 'https:' || x.origin === location.origin) return x.href;
    } catch (e) { /* not a URL */ }
    return '';
  }
  function seg(s) { return encodeURIComponent(String(s)); }
  function str(v) { return typeof v === 'string' ? v : ''; }

  function duration(s) {
    if (typeof s !== 'number' || !isFinite(s) || s < 0) return '';
    s = Math.floor(s);
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
    var mm = h > 0 ? (m < 10 ? '0' + m : '' + m) : '' + m;
    return (h > 0 ? h + ':' : '') + mm + ':' + (r < 10 ? '0' + r : r);
  }
  function relative(t) {
    var d = (Date.now() - t) / 1000;
    function p(n, unit) { n = Math.floor(n); return n + ' ' + unit + (n === 1 ? '' : 's') + ' ago'; }
    if (!(d >= 60)) return 'just now';
    if (d < 3600) return p(d / 60, 'minute');
    if (d < 86400) return p(d / 3600, 'hour');
    if (d < 14 * 86400) return p(d / 86400, 'day');
    if (d < 60 * 86400) return p(d / (7 * 86400), 'week');
    if (d < 365 * 86400) return p(d / (30 * 86400), 'month');
    return p(d / (365 * 86400), 'year');
  }

  // A track as the page holds it, from an XRPC trackView.
  function fromView(v) {
    var parts = str(v.uri).replace(/^at:\/\//, '').split('/');
    var did = str(v.did), rkey = parts.length === 3 ? parts[2] : '';
    var handle = str(v.handle) || (v.uploader ? str(v.uploader.handle) : '');
    var at = NaN;
    [v.createdAt, v.indexedAt].forEach(function (x) {
      var t = Date.parse(str(x));
      if (!isNaN(t) && (isNaN(at) || t < at)) at = t;
    });
    return {
      did: did, rkey: rkey, title: str(v.title), artist: str(v.artist), album: str(v.album),
      image: safeURL(v.imageUrl), href: '/track/' + seg(did) + '/' + seg(rkey),
      artistHref: '/artist/' + seg(handle || did),
      playable: safeURL(v.audioUrl) !== '' && did !== '' && rkey !== '',
      duration: duration(v.duration), when: isNaN(at) ? '' : relative(at),
      whenISO: isNaN(at) ? '' : new Date(at).toISOString()
    };
  }
  // A track as the server rendered it.
  function fromElement(li) {
    var d = li.dataset;
    return {
      did: str(d.did), rkey: str(d.rkey), title: str(d.title), artist: str(d.artist), album: str(d.album),
      image: safeURL(d.image), href: '/track/' + seg(d.did) + '/' + seg(d.rkey),
      artistHref: safeURL(d.artistHref) ? d.artistHref : '/artist/' + seg(d.did),
      playable: d.playable === '1'
    };
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }
  function art(src) {
    if (!safeURL(src)) { var s = el('span', 'art none'); s.setAttribute('aria-hidden', 'true'); return s; }
    var i = el('img', 'art');
    i.alt = ''; i.width = 48; i.height = 48; i.loading = 'lazy';
    i.src = safeURL(src);
    return i;
  }
  function button(cls, label) {
    var b = el('button', 'btn ' + cls);
    b.type = 'button'; b.setAttribute('aria-label', label); b.title = label;
    return b;
  }

  // renderItem builds the same markup as templates/item.html.
  function renderItem(it) {
    var li = el('li', 'track');
    li.dataset.did = it.did; li.dataset.rkey = it.rkey; li.dataset.title = it.title;
    li.dataset.artist = it.artist; li.dataset.album = it.album; li.dataset.image = it.image;
    li.dataset.href = it.href; li.dataset.artistHref = it.artistHref;
    if (it.playable) li.dataset.playable = '1';
    li.appendChild(art(it.image));
    var meta = el('div', 'meta');
    var title = el('a', 'title', it.title); title.href = it.href;
    var sub = el('div', 'sub');
    var artist = el('a', 'artist', it.artist); artist.href = it.artistHref;
    sub.appendChild(artist);
    if (it.album) sub.appendChild(el('span', 'album', ' · ' + it.album));
    meta.appendChild(title); meta.appendChild(sub);
    li.appendChild(meta);
    if (it.when) { var t = el('time', 'when', it.when); t.dateTime = it.whenISO; li.appendChild(t); }
    li.appendChild(el('span', 'dur', it.duration));
    if (it.playable) {
      li.appendChild(button('i-add', 'add to queue'));
      li.appendChild(button('i-play', 'play'));
    } else {
      var u = el('span', 'unplayable', '–'); u.title = 'no playable audio'; li.appendChild(u);
    }
    return li;
  }

  function getJSON(path, signal) {
    return fetch(path, { signal: signal, headers: { Accept: 'application/json' } }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        return { ok: res.ok, status: res.status, body: body };
      });
    });
  }

  // ---- lists: the feed, trending, search results ----

  // A list shows pages of one source, appending each next page.
  function List(ol, status, more) {
    this.ol = ol; this.status = status; this.more = more;
    this.path = null; this.cursor = ''; this.key = 'feed'; this.seq = 0; this.ctl = null;
  }
  // show loads the first page of path (its tracks under key: feed or tracks).
  List.prototype.show = function (path, key, empty, unavailable) {
    this.path = path; this.key = key; this.cursor = ''; this.empty = empty; this.unavailable = unavailable;
    this.ol.replaceChildren();
    this.load(true);
  };
  List.prototype.load = function (first) {
    var self = this, my = ++this.seq;
    if (this.ctl) this.ctl.abort();
    var ctl = this.ctl = new AbortController();
    var path = this.path + (this.path.indexOf('?') < 0 ? '?' : '&') + 'limit=' + PAGE +
      (this.cursor ? '&cursor=' + encodeURIComponent(this.cursor) : '');
    if (first) this.say('loading…');
    if (this.more) this.more.hidden = true;
    return getJSON(path, ctl.signal).then(function (r) {
      if (my !== self.seq) return; // a newer request owns the list: drop this answer
      if (!r.ok) {
        if ((r.status === 404 || r.status === 501) && self.unavailable) self.say(self.unavailable);
        else self.say('could not load: ' + (str(r.body.message) || 'error ' + r.status).toLowerCase());
        return;
      }
      var views = Array.isArray(r.body[self.key]) ? r.body[self.key] : [];
      if (first) self.ol.replaceChildren();
      views.forEach(function (v) { if (v && typeof v === 'object') self.ol.appendChild(renderItem(fromView(v))); });
      self.cursor = str(r.body.cursor);
      self.say(self.ol.children.length === 0 ? self.empty : '');
      if (self.more) self.more.hidden = !self.cursor || views.length === 0;
    }).catch(function (e) {
      if (my !== self.seq || (e && e.name === 'AbortError')) return;
      self.say('could not load; check the connection and try again');
    });
  };
  List.prototype.say = function (text) { if (this.status) this.status.textContent = text || ''; };
  List.prototype.cancel = function () { this.seq++; if (this.ctl) this.ctl.abort(); };

  var list = $('list') && new List($('list'), $('list-status'), $('more'));
  if (list && $('more')) {
    list.path = '/xrpc/app.relay.feed.getDiscoveryFeed';
    list.key = 'feed';
    list.cursor = str($('more').dataset.cursor);
    list.empty = 'no tracks yet';
    $('more').addEventListener('click', function (e) { e.preventDefault(); list.load(false); });
  }

  // tabs: new and trending (day, week, month)
  var windowName = 'day';
  function showTab(tab) {
    document.querySelectorAll('.tab').forEach(function (b) { b.setAttribute('aria-pressed', String(b.dataset.tab === tab)); });
    $('windows').hidden = tab !== 'trending';
    if (tab === 'trending') {
      list.show('/xrpc/app.relay.feed.getTrending?window=' + windowName, 'feed',
        'nothing played in this window yet', 'trending is not available yet');
    } else {
      list.show('/xrpc/app.relay.feed.getDiscoveryFeed', 'feed', 'no tracks yet');
    }
  }
  document.querySelectorAll('.tab').forEach(function (b) {
    b.addEventListener('click', function () { showTab(b.dataset.tab); });
  });
  document.querySelectorAll('.win').forEach(function (b) {
    b.addEventListener('click', function () {
      windowName = b.dataset.window;
      document.querySelectorAll('.win').forEach(function (w) { w.setAttribute('aria-pressed', String(w === b)); });
      showTab('trending');
    });
  });

  // search as you type: debounced, and only the newest query's answer is
  // shown (List drops stale ones and aborts their requests).
  var q = $('q'), results = new List($('results-list'), $('results-status'), $('results-more')), timer = 0;
  $('results-more').addEventListener('click', function () { results.load(false); });
  q.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var text = q.value.trim();
      if (text === '') {
        results.cancel();
        $('results').hidden = true; $('main').hidden = false;
        return;
      }
      $('results').hidden = false; $('main').hidden = true;
      results.show('/xrpc/app.relay.feed.searchTracks?q=' + encodeURIComponent(text), 'tracks', 'no tracks match “' + text + '”');
    }, 150);
  });
  q.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') { q.value = ''; q.dispatchEvent(new Event('input')); }
  });

  // ---- the player ----

  var audio = $('audio'), player = { queue: [], index: -1 };

  function save() {
    try { sessionStorage.setItem('relay.queue', JSON.stringify({ queue: player.queue.slice(0, 200), index: player.index })); } catch (e) { /* private mode */ }
  }
  function restore() {
    try {
      var s = JSON.parse(sessionStorage.getItem('relay.queue') || 'null');
      if (!s || !Array.isArray(s.queue)) return;
      player.queue = s.queue.filter(function (it) { return it && typeof it.did === 'string' && typeof it.rkey === 'string'; })
        .map(function (it) {
          return {
            did: it.did, rkey: it.rkey, title: str(it.title), artist: str(it.artist), album: str(it.album),
            image: safeURL(it.image), href: '/track/' + seg(it.did) + '/' + seg(it.rkey),
            artistHref: safeURL(it.artistHref) ? it.artistHref : '/artist/' + seg(it.did), playable: true
          };
        });
      player.index = Math.min(typeof s.index === 'number' ? s.index : 0, player.queue.length - 1);
      if (player.index >= 0) { load(player.index, false); }
    } catch (e) { /* a broken saved queue is no queue */ }
  }

  function load(i, play) {
    var it = player.queue[i];
    if (!it) return;
    player.index = i;
    // Always this service's /play path, never the record's URL: /play
    // counts the listen and redirects to the audio.
    audio.src = '/play/' + seg(it.did) + '/' + seg(it.rkey);
    $('p-status').textContent = '';
    showNow(it);
    // A refusal to autoplay asks for a press; a failure to load is the error event's to show.
    if (play) audio.play().catch(function (e) { if (e && e.name === 'NotAllowedError') $('p-status').textContent = 'press play to start'; });
    save();
  }

  function showNow(it) {
    $('player').hidden = false;
    $('p-title').textContent = it.title; $('p-title').href = it.href;
    $('p-artist').textContent = it.artist; $('p-artist').href = it.artistHref;
    $('p-album').textContent = it.album ? ' · ' + it.album : '';
    var src = safeURL(it.image);
    if (src) { $('p-art').src = src; $('p-art').hidden = false; $('p-noart').hidden = true; }
    else { $('p-art').removeAttribute('src'); $('p-art').hidden = true; $('p-noart').hidden = false; }
    document.querySelectorAll('.track.playing').forEach(function (li) { li.classList.remove('playing'); });
    document.querySelectorAll('.track').forEach(function (li) {
      if (li.dataset.did === it.did && li.dataset.rkey === it.rkey) li.classList.add('playing');
    });
    setPlayIcon();
    if ('mediaSession' in navigator && typeof MediaMetadata === 'function') {
      navigator.mediaSession.metadata = new MediaMetadata({
        title: it.title, artist: it.artist, album: it.album,
        artwork: src ? [{ src: src, sizes: '512x512' }] : []
      });
    }
    renderQueue();
  }

  function renderQueue() {
    var ol = $('p-queue');
    ol.replaceChildren();
    player.queue.forEach(function (it, i) {
      var li = el('li', i === player.index ? 'current' : '');
      li.appendChild(el('span', 'q-title', it.title));
      li.appendChild(el('span', 'q-artist', it.artist));
      li.addEventListener('click', function () { load(i, true); });
      ol.appendChild(li);
    });
  }

  function toggle() {
    if (player.index < 0) return;
    if (audio.paused) audio.play().catch(function () { /* shown by the error event */ });
    else audio.pause();
  }
  function next() { if (player.index + 1 < player.queue.length) load(player.index + 1, true); }
  function prev() {
    if (audio.currentTime > 3 || player.index === 0) { audio.currentTime = 0; return; }
    if (player.index > 0) load(player.index - 1, true);
  }

  document.addEventListener('click', function (e) {
    var b = e.target.closest && e.target.closest('.track .btn');
    if (!b) return;
    var li = b.closest('.track');
    if (li.classList.contains('playing') && (b.classList.contains('i-play') || b.classList.contains('i-pause'))) {
      toggle(); // the track playing: its button plays and pauses
    } else if (b.classList.contains('i-play') || b.classList.contains('i-pause')) {
      // The list from this track on becomes the queue: it plays through in order.
      var lis = Array.prototype.filter.call(li.parentNode.children, function (x) { return x.dataset.playable === '1'; });
      player.queue = lis.map(fromElement);
      load(lis.indexOf(li), true);
    } else if (b.classList.contains('i-add')) {
      player.queue.push(fromElement(li));
      if (player.index < 0) load(0, false);
      else { renderQueue(); save(); }
      $('p-status').textContent = 'added to the queue';
    }
  });

  $('p-play').addEventListener('click', toggle);
  $('p-next').addEventListener('click', next);
  $('p-prev').addEventListener('click', prev);
  $('p-qtoggle').addEventListener('click', function () {
    var ol = $('p-queue');
    ol.hidden = !ol.hidden;
    this.setAttribute('aria-expanded', String(!ol.hidden));
  });
  function setPlayIcon() {
    var b = $('p-play');
    b.classList.toggle('i-play', audio.paused); b.classList.toggle('i-pause', !audio.paused);
    b.setAttribute('aria-label', audio.paused ? 'play' : 'pause');
    document.querySelectorAll('.track .i-play, .track .i-pause').forEach(function (x) {
      var on = !audio.paused && x.closest('.track').classList.contains('playing');
      x.classList.toggle('i-play', !on); x.classList.toggle('i-pause', on);
      x.setAttribute('aria-label', on ? 'pause' : 'play');
    });
  }
  audio.addEventListener('play', setPlayIcon);
  audio.addEventListener('pause', setPlayIcon);
  audio.addEventListener('ended', next);
  audio.addEventListener('error', function () { if (audio.getAttribute('src')) $('p-status').textContent = 'could not play this track'; });
  audio.addEventListener('timeupdate', function () {
    $('p-pos').textContent = duration(audio.currentTime) || '0:00';
    if (audio.duration > 0 && isFinite(audio.duration)) {
      $('p-len').textContent = duration(audio.duration);
      $('p-seek').value = String(Math.round(1000 * audio.currentTime / audio.duration));
    }
  });
  $('p-seek').addEventListener('input', function () {
    if (audio.duration > 0 && isFinite(audio.duration)) audio.currentTime = audio.duration * Number(this.value) / 1000;
  });

  // space plays and pauses, except while typing
  document.addEventListener('keydown', function (e) {
    if (e.key !== ' ' || e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && t.closest && t.closest('input, textarea, select, [contenteditable]')) return;
    if (player.index < 0) return;
    e.preventDefault(); // neither scroll nor press the focused button
    toggle();
  });

  if ('mediaSession' in navigator) {
    try {
      navigator.mediaSession.setActionHandler('play', toggle);
      navigator.mediaSession.setActionHandler('pause', toggle);
      navigator.mediaSession.setActionHandler('nexttrack', next);
      navigator.mediaSession.setActionHandler('previoustrack', prev);
    } catch (e) { /* an action this browser lacks */ }
  }

  // ---- publish: the upload with its progress, delete ----

  // The upload goes to POST /tracks (publish) with the login cookie; the
  // browser sends Origin, which the server checks. Its answer's message is
  // shown as text.
  var upload = $('upload');
  if (upload) {
    upload.addEventListener('submit', function (e) {
      e.preventDefault();
      var status = $('up-status'), bar = $('up-progress'), go = $('up-go');
      var file = upload.elements.file.files[0];
      var max = Number(upload.dataset.max) || 0;
      if (!file) { status.textContent = 'choose an audio file'; return; }
      if (max > 0 && file.size > max) {
        status.textContent = 'that file is over ' + Math.floor(max / 1048576) + ' mb';
        return;
      }
      var xhr = new XMLHttpRequest();
      xhr.open('POST', '/tracks');
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.addEventListener('progress', function (ev) {
        if (!ev.lengthComputable) return;
        bar.max = ev.total; bar.value = ev.loaded;
        status.textContent = 'uploading ' + Math.floor(100 * ev.loaded / ev.total) + '%';
      });
      xhr.upload.addEventListener('load', function () { status.textContent = 'writing the record to your repo…'; });
      function done(msg) { status.textContent = msg; go.disabled = false; bar.hidden = true; }
      xhr.addEventListener('load', function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText) || {}; } catch (err) { /* not JSON */ }
        if (xhr.status === 200 && typeof body.uri === 'string') {
          var rkey = body.uri.split('/').pop();
          location.assign('/publish?published=' + seg(rkey));
          return;
        }
        if (xhr.status === 401) { done('your login ended; reload the page and log in again'); return; }
        done(str(body.message) || 'the upload failed (' + xhr.status + ')');
      });
      xhr.addEventListener('error', function () { done('the upload did not reach the server; check the connection and try again'); });
      bar.value = 0; bar.hidden = false; go.disabled = true;
      status.textContent = 'uploading…';
      xhr.send(new FormData(upload));
    });
  }

  // delete asks once more on the same button (no dialog), then deletes the
  // record on the user's PDS and the audio here (DELETE /tracks/{rkey}).
  var mine = $('mine');
  if (mine) {
    mine.addEventListener('click', function (e) {
      var b = e.target.closest && e.target.closest('.del');
      if (!b || b.disabled) return;
      var li = b.closest('.track');
      if (!b.classList.contains('confirm')) {
        b.classList.add('confirm'); b.textContent = 'delete?';
        setTimeout(function () { b.classList.remove('confirm'); b.textContent = 'delete'; }, 4000);
        return;
      }
      b.disabled = true; b.textContent = 'deleting…';
      fetch('/tracks/' + seg(li.dataset.rkey), { method: 'DELETE', headers: { Accept: 'application/json' } }).then(function (res) {
        if (res.ok) { li.remove(); $('mine-status').textContent = 'deleted'; return; }
        return res.json().catch(function () { return {}; }).then(function (body) {
          b.disabled = false; b.classList.remove('confirm'); b.textContent = 'delete';
          $('mine-status').textContent = str(body.message) || 'could not delete it (' + res.status + ')';
        });
      }, function () {
        b.disabled = false; b.classList.remove('confirm'); b.textContent = 'delete';
        $('mine-status').textContent = 'could not reach the server; try again';
      });
    });
  }

  restore();
})();
