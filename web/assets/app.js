/* What every page shares: the JSON client of /portal/api (CSRF header, language, problems), the
 * session shown in the header, the language switch, field errors and the SMS code button. */
(function () {
  'use strict';

  var I18n = window.I18n;
  var sessionState = null;
  var sessionPromise = null; /* GET /portal/api/session, asked once per page */

  function newUuid() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
    /* randomUUID needs a secure context; getRandomValues does not (plain http on a LAN). */
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join('');
    return hex.slice(0, 8) + '-' + hex.slice(8, 12) + '-' + hex.slice(12, 16) + '-' + hex.slice(16, 20) + '-' +
      hex.slice(20);
  }

  /* The double-submit value: the cookie topupd set, or what the session answer said. */
  function csrfToken() {
    return I18n.readCookie('topup_csrf') || (sessionState && sessionState.csrf) || '';
  }

  /**
   * One request to the portal's API. Resolves (never rejects) to
   * { ok, status, data, problem, retryAfter }; a network failure is status 0, problem "network".
   * A change waits for the session answer (which sets the CSRF cookie it must echo) and is sent
   * once more with a fresh cookie when topupd no longer knows the old one.
   */
  function api(method, path, body, options) {
    if (method === 'GET' || method === 'HEAD') return send(method, path, body, options);
    return session().then(function () {
      return send(method, path, body, options);
    }).then(function (result) {
      if (result.problem && result.problem.code === 'csrf_failed' && !(options && options.retried)) {
        sessionPromise = null;
        var again = Object.assign({}, options, { retried: true });
        return session().then(function () {
          return send(method, path, body, again);
        });
      }
      return result;
    });
  }

  function send(method, path, body, options) {
    var headers = { 'Accept': 'application/json', 'Accept-Language': I18n.lang };
    if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken();
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    var extra = (options && options.headers) || {};
    Object.keys(extra).forEach(function (name) {
      headers[name] = extra[name];
    });
    return fetch(path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store'
    }).then(function (response) {
      var retryAfter = Number(response.headers.get('Retry-After')) || 0;
      return response.text().then(function (text) {
        var data = null;
        try {
          data = text ? JSON.parse(text) : null;
        } catch (e) {
          data = null;
        }
        var ok = response.status >= 200 && response.status < 300;
        var problem = ok ? null : (data && data.code ? data : { code: 'http_' + response.status, detail: '' });
        return { ok: ok, status: response.status, data: ok ? data : null, problem: problem, retryAfter: retryAfter };
      });
    }, function () {
      return { ok: false, status: 0, data: null, problem: { code: 'network', detail: '' }, retryAfter: 0 };
    });
  }

  /* A problem in the page's language: our own text for the codes people meet, else the server's
   * detail (already in the request's language), else a generic sentence. */
  function problemText(problem, retryAfter) {
    if (!problem) return '';
    var code = problem.code;
    if (code === 'rate_limited') {
      return retryAfter > 0 ? I18n.t('err.rate_limited', { s: retryAfter }) : I18n.t('err.rate_limited.plain');
    }
    if (code === 'locked') return I18n.t('err.locked', { m: Math.max(1, Math.ceil((retryAfter || 900) / 60)) });
    if (I18n.has('err.' + code)) return I18n.t('err.' + code);
    if (problem.detail) return problem.detail;
    return I18n.t('err.generic');
  }

  /* ---- field errors and status lines ---- */

  function errorElementFor(input) {
    return document.getElementById(input.id + '-error');
  }

  function setFieldError(input, text) {
    var target = errorElementFor(input);
    if (target) {
      target.textContent = text;
      target.hidden = !text;
    }
    if (text) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  function clearErrors(form) {
    var invalid = form.querySelectorAll('[aria-invalid]');
    for (var i = 0; i < invalid.length; i++) setFieldError(invalid[i], '');
    var messages = form.querySelectorAll('.field-error');
    for (var j = 0; j < messages.length; j++) {
      messages[j].textContent = '';
      messages[j].hidden = true;
    }
  }

  /* kind: "", "error", "ok" or "info". */
  function setStatus(element, text, kind) {
    if (!element) return;
    element.textContent = text || '';
    element.hidden = !text;
    element.className = 'status' + (kind ? ' status-' + kind : '');
  }

  /**
   * Shows a problem next to its field: fields maps problem codes to inputs; others go to the form's
   * status line. Returns the input that got it (focused), or null.
   */
  function showProblem(result, fields, statusElement) {
    var text = problemText(result.problem, result.retryAfter);
    var input = fields && fields[result.problem.code];
    if (input) {
      setFieldError(input, text);
      input.focus();
      return input;
    }
    setStatus(statusElement, text, 'error');
    return null;
  }

  /* ---- numbers ---- */

  /* Full-width digits (what a Chinese input method may type) as ASCII ones. */
  function asciiDigits(text) {
    return String(text || '').replace(/[\uff10-\uff19]/g, function (digit) {
      return String.fromCharCode(digit.charCodeAt(0) - 0xfee0);
    }).replace(/\uff0b/g, '+');
  }

  /* The digits of what someone typed, with a leading + kept. */
  function cleanNumber(text) {
    var trimmed = asciiDigits(text).trim();
    var digits = trimmed.replace(/\D/g, '');
    return trimmed.charAt(0) === '+' ? '+' + digits : digits;
  }

  /* What goes back into a number field: the 11 national digits of a Chinese number, else E.164. */
  function editableNumber(e164) {
    var text = String(e164 || '');
    return /^\+86\d{11}$/.test(text) ? text.slice(3) : text;
  }

  /* "+8613800138000" -> "138****8000": the national digits with the middle hidden. */
  function maskNumber(e164) {
    var national = editableNumber(e164).replace(/^\+/, '');
    if (national.length < 8) {
      return national.length > 4 ? '*'.repeat(national.length - 4) + national.slice(-4) : national;
    }
    return national.slice(0, 3) + '*'.repeat(national.length - 7) + national.slice(-4);
  }

  /* ---- the header ---- */

  function showNav(session) {
    var loggedIn = Boolean(session && session.logged_in);
    var user = document.getElementById('nav-user');
    var toggle = function (id, visible) {
      var element = document.getElementById(id);
      if (element) element.hidden = !visible;
    };
    toggle('nav-login', !loggedIn);
    toggle('nav-register', !loggedIn);
    toggle('nav-account', loggedIn);
    toggle('nav-logout', loggedIn);
    if (user) {
      user.hidden = !loggedIn;
      if (loggedIn) {
        user.textContent = maskNumber(session.msisdn);
        user.setAttribute('title', I18n.t('nav.user', { number: maskNumber(session.msisdn) }));
      }
    }
  }

  function logout() {
    return api('POST', '/portal/api/logout').then(function () {
      try {
        sessionStorage.removeItem('topup.lastOrder');
      } catch (e) {
        /* storage off: nothing to forget */
      }
      window.location.assign('/');
    });
  }

  function setUpHeader() {
    var switcher = document.getElementById('lang-switch');
    if (switcher) {
      /* Named in the language it switches to; a narrow phone shows the short form ("EN"), the
       * full name stays for screen readers. */
      var label = function () {
        switcher.textContent = '';
        switcher.appendChild(element('span', 'lang-long', I18n.t('lang.switch')));
        var short = element('span', 'lang-short', I18n.t('lang.switch.short'));
        short.setAttribute('aria-hidden', 'true');
        switcher.appendChild(short);
        switcher.setAttribute('lang', I18n.lang === 'en' ? 'zh-CN' : 'en');
        switcher.setAttribute('title', I18n.t('lang.switch.label'));
      };
      label();
      switcher.addEventListener('click', function () {
        I18n.setLanguage(I18n.lang === 'en' ? 'zh-CN' : 'en');
      });
      I18n.onChange(function () {
        label();
        showNav(sessionState);
      });
    }
    var out = document.getElementById('nav-logout');
    if (out) out.addEventListener('click', logout);
  }

  function session() {
    if (!sessionPromise) {
      sessionPromise = api('GET', '/portal/api/session').then(function (result) {
        sessionState = result.ok && result.data ? result.data : { logged_in: false };
        showNav(sessionState);
        return sessionState;
      });
    }
    return sessionPromise;
  }

  /* A same-site path to go to after logging in: never another origin ("//x", "/\x", "http:"). */
  function nextPath(fallback) {
    var next = new URLSearchParams(window.location.search).get('next');
    if (next && next.charAt(0) === '/' && next.charAt(1) !== '/' && next.charAt(1) !== '\\') return next;
    return fallback;
  }

  /* ---- the SMS code button of login, register and reset ---- */

  /**
   * Wires a "send code" button: POST /portal/api/otp for the number in numberInput, then a
   * countdown until another code may be asked for (resend_after, or Retry-After when limited).
   */
  function otpButton(button, numberInput, purpose, statusElement) {
    var timer = null;
    function countdown(seconds) {
      var left = seconds;
      button.disabled = true;
      var tick = function () {
        if (left <= 0) {
          clearInterval(timer);
          timer = null;
          button.disabled = false;
          button.textContent = I18n.t('otp.send');
          return;
        }
        button.textContent = I18n.t('otp.resend', { s: left });
        left -= 1;
      };
      tick();
      timer = setInterval(tick, 1000);
    }
    button.addEventListener('click', function () {
      setFieldError(numberInput, '');
      var msisdn = cleanNumber(numberInput.value);
      if (!msisdn) {
        setFieldError(numberInput, I18n.t('otp.need.number'));
        numberInput.focus();
        return;
      }
      button.disabled = true;
      api('POST', '/portal/api/otp', { msisdn: msisdn, purpose: purpose }).then(function (result) {
        if (result.ok) {
          setStatus(statusElement, I18n.t('otp.sent'), 'info');
          countdown((result.data && result.data.resend_after) || 60);
          return;
        }
        button.disabled = false;
        if (result.problem.code === 'rate_limited' && result.retryAfter > 0) countdown(result.retryAfter);
        showProblem(result, { invalid_number: numberInput, unknown_operator: numberInput,
          number_not_mobile: numberInput, rate_limited: numberInput }, statusElement);
      });
    });
    I18n.onChange(function () {
      if (!timer) button.textContent = I18n.t('otp.send');
    });
  }

  /* A "show password" check box beside a password field. */
  function passwordToggle(checkbox, input) {
    checkbox.addEventListener('change', function () {
      input.type = checkbox.checked ? 'text' : 'password';
    });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  window.Topup = {
    api: api,
    session: session,
    problemText: problemText,
    setFieldError: setFieldError,
    clearErrors: clearErrors,
    setStatus: setStatus,
    showProblem: showProblem,
    asciiDigits: asciiDigits,
    cleanNumber: cleanNumber,
    editableNumber: editableNumber,
    maskNumber: maskNumber,
    nextPath: nextPath,
    otpButton: otpButton,
    passwordToggle: passwordToggle,
    newUuid: newUuid,
    element: element,
    logout: logout
  };

  /* A field's error goes once the field is changed: it said what was wrong with the old value. */
  document.addEventListener('input', function (event) {
    var target = event.target;
    if (target && target.getAttribute && target.getAttribute('aria-invalid') === 'true') setFieldError(target, '');
  });

  I18n.apply(document);
  setUpHeader();
  session();
})();
