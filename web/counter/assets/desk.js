/* What every counter page shares: the texts in both languages, the JSON client of /counter/api
 * (the CSRF header, problems as values), the staff session shown in the header, money in yuan. */
(function () {
  'use strict';

  var TEXTS = {
    'zh-CN': {
      'brand': '营业厅柜台', 'nav.shift': '班次', 'nav.recharge': '充值', 'nav.logout': '退出',
      'lang.other': 'English',
      'login.title': '员工登录', 'login.staff': '工号', 'login.password': '密码', 'login.submit': '登录',
      'login.welcome': '已登录', 'login.go.shift': '班次与钱箱', 'login.go.recharge': '柜台充值',
      'shift.title': '班次与钱箱', 'shift.none': '当前没有开启的班次。', 'shift.float': '开班备用金（元）',
      'shift.open': '开班', 'shift.current': '当前班次', 'shift.counted': '清点现金（元）',
      'shift.reason': '长短款原因', 'shift.close': '交班', 'shift.report': '班次报表', 'shift.print': '打印报表',
      'shift.drawer': '钱箱应有现金', 'shift.expected': '应有现金', 'shift.counted.done': '实点现金',
      'shift.overshort': '长短款', 'shift.tender': '支付方式', 'shift.operator': '运营商',
      'shift.count': '笔数', 'shift.amount': '金额', 'shift.reversed': '冲正',
      'reverse.title': '冲正（主管）', 'reverse.order': '订单号', 'reverse.reason': '冲正原因',
      'reverse.submit': '冲正', 'reverse.done': '已冲正，现金已从钱箱退还。',
      'recharge.title': '柜台充值', 'recharge.msisdn': '手机号码', 'recharge.lookup': '查询',
      'recharge.product': '充值面额', 'recharge.amount': '金额（元）', 'recharge.check': '核对',
      'recharge.readback': '请向客户复述并确认：', 'recharge.confirmed': '客户已确认号码与金额',
      'recharge.tender': '支付方式', 'tender.cash': '现金', 'tender.card': '银行卡', 'tender.alipay_code': '支付宝付款码',
      'recharge.authcode': '付款码（扫描客户手机）', 'pay.waiting': '等待客户在支付宝中确认付款…',
      'pay.unknown': '支付宝暂未答复，正在查询结果，请勿重复收款…', 'pay.closed': '支付宝未收款，订单已关闭。可请客户重新出示付款码。',
      'recharge.tendered': '实收现金（元）', 'recharge.change': '找零', 'recharge.pos': 'POS 参考号',
      'recharge.idtype': '证件类型', 'recharge.idnumber': '证件号码',
      'id.resident_id': '居民身份证', 'id.passport': '护照', 'id.hk_macao_permit': '港澳居民来往内地通行证',
      'id.taiwan_permit': '台湾居民来往大陆通行证', 'id.foreign_permanent_id': '外国人永久居留身份证',
      'recharge.invoice': '发票（可选）', 'recharge.invoice.title': '发票抬头', 'recharge.invoice.taxid': '纳税人识别号',
      'recharge.approval': '超过限额，需主管授权', 'recharge.approver': '主管工号', 'recharge.approver.password': '主管密码',
      'recharge.submit': '确认收款并充值', 'recharge.done': '充值成功', 'recharge.order': '订单号',
      'recharge.print': '打印小票', 'recharge.next': '下一笔', 'need.shift': '请先开班。',
      'need.login': '请先登录。', 'error.network': '网络错误，请重试。',
      'problem.invalid_credentials': '工号或密码不正确。', 'problem.locked': '密码错误次数过多，请稍后再试或联系主管。',
      'problem.login_required': '登录已超时，请重新登录。', 'problem.no_open_shift': '请先开班。',
      'problem.shift_already_open': '已有开启的班次。', 'problem.role_refused': '当前角色无权执行此操作。',
      'problem.wrong_hall': '不能操作其他营业厅的业务。', 'problem.reason_required': '请填写原因。',
      'problem.tender_short': '实收现金少于应收金额。', 'problem.approval_required': '超过限额，需主管授权。',
      'problem.approval_denied': '主管密码不正确。', 'problem.approver_refused': '授权人须为本营业厅的主管，且不能是本人。',
      'problem.already_reversed': '该笔充值已冲正。', 'problem.window_passed': '已超过可冲正的时限。',
      'problem.balance_too_low': '充值金额已被使用，无法冲正。', 'problem.not_found': '找不到该订单。'
    },
    'en': {
      'brand': 'Hall counter', 'nav.shift': 'Shift', 'nav.recharge': 'Recharge', 'nav.logout': 'Log out',
      'lang.other': '中文',
      'login.title': 'Staff login', 'login.staff': 'Login name', 'login.password': 'Password', 'login.submit': 'Log in',
      'login.welcome': 'Logged in', 'login.go.shift': 'Shift and drawer', 'login.go.recharge': 'Counter recharge',
      'shift.title': 'Shift and drawer', 'shift.none': 'No shift is open.', 'shift.float': 'Opening float (CNY)',
      'shift.open': 'Open shift', 'shift.current': 'Current shift', 'shift.counted': 'Cash counted (CNY)',
      'shift.reason': 'Reason for over/short', 'shift.close': 'Close shift', 'shift.report': 'Shift report',
      'shift.print': 'Print report', 'shift.drawer': 'Cash the drawer should hold', 'shift.expected': 'Expected cash',
      'shift.counted.done': 'Counted cash', 'shift.overshort': 'Over/short', 'shift.tender': 'Tender',
      'shift.operator': 'Operator', 'shift.count': 'Orders', 'shift.amount': 'Amount', 'shift.reversed': 'Reversed',
      'reverse.title': 'Reversal (supervisor)', 'reverse.order': 'Order id', 'reverse.reason': 'Reason',
      'reverse.submit': 'Reverse', 'reverse.done': 'Reversed; the cash was paid back from the drawer.',
      'recharge.title': 'Counter recharge', 'recharge.msisdn': 'Mobile number', 'recharge.lookup': 'Look up',
      'recharge.product': 'Product', 'recharge.amount': 'Amount (CNY)', 'recharge.check': 'Check',
      'recharge.readback': 'Read back to the customer and confirm:', 'recharge.confirmed': 'The customer confirmed number and amount',
      'recharge.tender': 'Tender', 'tender.cash': 'Cash', 'tender.card': 'Bank card', 'tender.alipay_code': 'Alipay payment code',
      'recharge.authcode': 'Payment code (scan the customer\'s phone)', 'pay.waiting': 'Waiting for the customer to confirm in Alipay…',
      'pay.unknown': 'Alipay has not answered yet; finding out. Do not take the payment again…',
      'pay.closed': 'Alipay took no money and the order is closed. The customer may show a new payment code.',
      'recharge.tendered': 'Cash handed over (CNY)', 'recharge.change': 'Change', 'recharge.pos': 'POS reference',
      'recharge.idtype': 'ID type', 'recharge.idnumber': 'ID number',
      'id.resident_id': 'Resident ID card', 'id.passport': 'Passport', 'id.hk_macao_permit': 'Hong Kong/Macao permit',
      'id.taiwan_permit': 'Taiwan permit', 'id.foreign_permanent_id': 'Foreign permanent resident ID',
      'recharge.invoice': 'Invoice (optional)', 'recharge.invoice.title': 'Invoice title', 'recharge.invoice.taxid': 'Tax id',
      'recharge.approval': 'Above the limit: a supervisor must approve', 'recharge.approver': 'Supervisor login',
      'recharge.approver.password': 'Supervisor password', 'recharge.submit': 'Take payment and recharge',
      'recharge.done': 'Recharged', 'recharge.order': 'Order', 'recharge.print': 'Print receipt',
      'recharge.next': 'Next customer', 'need.shift': 'Open a shift first.', 'need.login': 'Log in first.',
      'error.network': 'Network error; try again.',
      'problem.approval_denied': "The supervisor's password is not right.",
      'problem.reason_required': 'Give the reason.'
    }
  };

  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split('; ') : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf('=');
      if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
    }
    return '';
  }

  var lang = readCookie('lang') === 'en' ? 'en' : 'zh-CN';

  function t(key) {
    return TEXTS[lang][key] || TEXTS['zh-CN'][key] || key;
  }

  function translate(root) {
    document.documentElement.lang = lang;
    (root || document).querySelectorAll('[data-i18n]').forEach(function (node) {
      node.textContent = t(node.getAttribute('data-i18n'));
    });
  }

  /* "50.00" from 5000 fen; minor units from "50" or "50.5" (null when not an amount). */
  function yuan(minor) {
    var sign = minor < 0 ? '-' : '';
    var abs = Math.abs(minor);
    return sign + Math.floor(abs / 100) + '.' + String(abs % 100).padStart(2, '0');
  }

  function toMinor(text) {
    var match = /^\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text || '');
    if (!match) return null;
    return Number(match[1]) * 100 + Number((match[2] || '0').padEnd(2, '0'));
  }

  var sessionPromise = null;

  function session() {
    if (!sessionPromise) sessionPromise = send('GET', '/counter/api/session').then(function (r) {
      return r.ok ? r.data : { logged_in: false };
    });
    return sessionPromise;
  }

  /* One request; resolves (never rejects) to { ok, status, data, problem, blob }. */
  function send(method, path, body, wantBlob, extra) {
    var headers = Object.assign({ 'Accept': 'application/json' }, extra || {});
    if (method !== 'GET') headers['X-CSRF-Token'] = readCookie('topup_counter_csrf');
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    return fetch(path, {
      method: method, headers: headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (res) {
      if (res.ok && wantBlob) return res.blob().then(function (blob) { return { ok: true, status: res.status, blob: blob }; });
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { ok: res.ok, status: res.status, data: res.ok ? data : null, problem: res.ok ? null : (data || {}) };
      });
    }, function () {
      return { ok: false, status: 0, problem: { detail: t('error.network') } };
    });
  }

  function api(method, path, body, wantBlob, headers) {
    return session().then(function () { return send(method, path, body, wantBlob, headers); });
  }

  /* Shows a problem (or clears it) in the page's message line. */
  function say(node, problem, good) {
    /* The page's own sentence for a known refusal; otherwise the server's (in English). */
    var known = problem && problem.code && TEXTS[lang]['problem.' + problem.code];
    node.textContent = problem ? (known || problem.detail || problem.title || problem.code || '') : (good || '');
    node.className = problem ? 'message error' : 'message ok';
    node.hidden = !node.textContent;
  }

  /* The header: who is logged in where, the language switch, logout. */
  function header(state) {
    var who = document.getElementById('who');
    var logout = document.getElementById('logout');
    if (state.logged_in) {
      who.textContent = state.staff.name + ' · ' + (state.staff.hall_name || state.staff.role);
      logout.hidden = false;
    }
    logout.addEventListener('click', function () {
      send('POST', '/counter/api/logout').then(function () { window.location.href = '/counter'; });
    });
    var switcher = document.getElementById('lang');
    switcher.textContent = t('lang.other');
    switcher.addEventListener('click', function () {
      document.cookie = 'lang=' + (lang === 'en' ? 'zh-CN' : 'en') + '; path=/; max-age=31536000; samesite=lax';
      window.location.reload();
    });
  }

  /* Runs start(state) on a page that needs a logged-in staff member; others go to the login. */
  function page(start, needsLogin) {
    document.addEventListener('DOMContentLoaded', function () {
      translate();
      session().then(function (state) {
        header(state);
        if (needsLogin && !state.logged_in) {
          window.location.href = '/counter';
          return;
        }
        start(state);
      });
    });
  }

  window.Desk = { t: t, translate: translate, yuan: yuan, toMinor: toMinor, api: api, say: say, page: page };
})();
