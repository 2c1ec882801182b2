/* Every text of the portal in zh-CN and en, the choice of language, and money and date
 * formatting per locale. The language comes from the "lang" cookie (set by the switch in the
 * header), else from the browser's languages; anything not Chinese reads English. */
(function () {
  'use strict';

  var TEXTS = {
    'zh-CN': {
      'brand': '话费充值中心',
      'skip': '跳到主要内容',
      'lang.switch': 'English',
      'lang.switch.short': 'EN',
      'lang.switch.label': 'Switch to English',
      'nav.label': '账户与语言',
      'nav.login': '登录',
      'nav.register': '注册',
      'nav.account': '我的账户',
      'nav.logout': '退出',
      'nav.user': '已登录：{number}',
      'footer.note': '充值安全由运营商保障 · 支付由持牌支付机构处理',
      'footer.help': '客服热线 10086',

      'title.recharge': '手机话费充值',
      'title.login': '登录',
      'title.register': '注册账户',
      'title.reset': '重置密码',
      'title.account': '我的账户',
      'title.order': '订单结果',
      'title.check': '凭证验证',

      'recharge.heading': '手机话费充值',
      'recharge.lead': '输入手机号码，选择金额，支付后即时到账。',
      'recharge.number': '手机号码',
      'recharge.number.hint': '支持中国移动、中国联通、中国电信号码',
      'recharge.number.placeholder': '请输入手机号码',
      'recharge.lookup': '正在识别运营商…',
      'recharge.saved': '常用号码',
      'recharge.own': '本机',
      'recharge.amount': '充值金额',
      'recharge.price': '售价 {price}',
      'recharge.custom': '其他金额',
      'recharge.custom.tile': '自定义',
      'recharge.custom.label': '输入金额（元）',
      'recharge.custom.hint': '{min} 至 {max}，以 {step} 为单位',
      'recharge.confirm': '请确认充值信息',
      'recharge.confirm.credit': '到账 {amount}',
      'recharge.confirm.pay': '应付 {amount}',
      'recharge.confirm.validity': '有效期延长 {days} 天',
      'recharge.method': '支付方式',
      'method.sandbox': '沙箱支付',
      'method.sandbox.note': '测试用，不产生真实扣款',
      'method.alipay': '支付宝',
      'method.alipay.note': '跳转至支付宝完成付款',
      'method.wechat': '微信支付',
      'method.wechat.note': '跳转至微信支付完成付款',
      'method.card': '银行卡',
      'method.card.note': '跳转至收银台完成付款',
      'recharge.pay': '确认支付 {amount}',
      'recharge.pay.plain': '确认支付',
      'recharge.paying': '正在创建订单…',
      'recharge.redirecting': '正在跳转到支付页面…',
      'recharge.pending': '您有一笔订单尚未完成。',
      'recharge.pending.link': '查看订单结果',
      'recharge.choose.amount': '请选择充值金额',
      'recharge.number.incomplete': '请输入完整的手机号码',
      'recharge.amount.invalid': '请输入 {min} 至 {max} 之间、以 {step} 为单位的金额',
      'info.heading': '充值说明',
      'info.step1': '输入手机号码，系统自动识别运营商。',
      'info.step2': '选择充值金额，核对号码与金额。',
      'info.step3': '支付完成后话费即时到账，短信通知。',
      'info.account': '注册账户后可保存常用号码、查看充值记录并下载电子凭证。',
      'info.account.link': '立即注册',

      'login.heading': '登录',
      'login.tabs': '登录方式',
      'login.tab.password': '密码登录',
      'login.tab.code': '验证码登录',
      'login.submit': '登录',
      'login.forgot': '忘记密码？',
      'login.noaccount': '还没有账户？',
      'login.register': '注册',
      'login.done': '登录成功，正在跳转…',

      'register.heading': '注册账户',
      'register.lead': '注册后可保存常用号码、查看充值记录。',
      'register.submit': '注册',
      'register.have': '已有账户？',
      'register.login': '登录',
      'register.done': '注册成功，正在跳转…',

      'reset.heading': '重置密码',
      'reset.lead': '我们会向您的手机号码发送验证码。',
      'reset.submit': '重置密码并登录',
      'reset.done': '密码已重置，正在跳转…',
      'reset.back': '返回登录',

      'field.msisdn': '手机号码',
      'field.password': '密码',
      'field.password.new': '设置密码',
      'field.password.reset': '新密码',
      'field.password.hint': '8 至 128 个字符，不能全是数字',
      'field.code': '短信验证码',
      'field.code.placeholder': '6 位数字',
      'field.label': '备注名（可选）',
      'field.label.placeholder': '如：家人',
      'otp.send': '获取验证码',
      'otp.resend': '重新获取（{s} 秒）',
      'otp.sent': '如果号码可以接收短信，验证码已发送，5 分钟内有效。',
      'otp.need.number': '请先输入手机号码',
      'show.password': '显示密码',

      'account.heading': '我的账户',
      'account.signed': '当前账户',
      'account.numbers': '我的号码',
      'account.numbers.none': '还没有号码。',
      'account.own': '本机号码',
      'account.balance': '余额',
      'account.balance.none': '暂无余额信息',
      'account.valid': '有效期至 {date}',
      'account.valid.none': '未激活',
      'account.recharge': '充值',
      'account.remove': '删除',
      'account.remove.label': '删除号码 {number}',
      'account.remove.confirm': '确定删除号码 {number}？',
      'account.add': '添加常用号码',
      'account.add.submit': '保存号码',
      'account.added': '号码已保存。',
      'account.removed': '号码已删除。',
      'account.history': '充值记录',
      'account.history.none': '暂无充值记录。',
      'account.col.time': '时间',
      'account.col.number': '号码',
      'account.col.amount': '金额',
      'account.col.status': '状态',
      'account.col.actions': '操作',
      'account.details': '详情',
      'account.receipt': '凭证',
      'account.logout': '退出登录',
      'account.more': '加载更多',

      'order.heading': '订单结果',
      'order.id': '订单号',
      'order.number': '充值号码',
      'order.operator': '运营商',
      'order.amount': '充值金额',
      'order.price': '支付金额',
      'order.method': '支付方式',
      'order.trade': '支付流水号',
      'order.created': '下单时间',
      'order.balance': '当前余额',
      'order.valid': '有效期至',
      'order.receipt': '下载电子凭证（PDF）',
      'order.again': '继续充值',
      'order.account': '查看充值记录',
      'order.continue': '继续支付',
      'order.checking': '正在查询订单状态…',
      'order.notfound': '找不到这笔订单，或链接不完整。',
      'order.updated': '每 2 秒自动刷新',
      'status.created': '订单已创建',
      'status.awaiting_payment': '等待支付',
      'status.paid': '已支付，正在充值',
      'status.submitted': '已支付，正在充值',
      'status.unknown': '正在确认充值结果',
      'status.succeeded': '充值成功',
      'status.failed': '充值失败，正在退款',
      'status.refunded': '已退款',
      'status.closed': '订单已关闭',
      'status.sub.awaiting_payment': '请在支付页面完成付款，完成后本页会自动更新。',
      'status.sub.paid': '支付已确认，话费即将到账。',
      'status.sub.succeeded': '话费已到账，短信通知已发送至充值号码。',
      'status.sub.failed': '号码无法充值，款项将原路退回。',
      'status.sub.refunded': '款项已原路退回。',
      'status.sub.closed': '未完成支付，订单已关闭，未产生扣款。',
      'status.sub.unknown': '请稍候，我们正在向运营商确认。',
      'badge.succeeded': '成功',
      'badge.closed': '已关闭',
      'badge.refunded': '已退款',
      'badge.failed': '失败',
      'badge.pending': '处理中',
      'badge.awaiting_payment': '待支付',

      'check.heading': '电子凭证验证',
      'check.checking': '正在验证…',
      'check.genuine': '凭证真实有效',
      'check.genuine.sub': '此凭证由本平台签发，内容未被篡改。',
      'check.fake': '无法验证此凭证',
      'check.fake.sub': '此凭证不是本平台签发的，或链接不完整。请勿以此作为付款证明。',
      'check.order': '订单号',
      'check.number': '充值号码',
      'check.operator': '运营商',
      'check.amount': '金额',
      'check.status': '状态',
      'check.time': '下单时间',

      'err.network': '网络连接失败，请稍后重试。',
      'err.generic': '操作失败，请稍后重试。',
      'err.invalid_number': '手机号码格式不正确，请检查后重新输入。',
      'err.unknown_operator': '暂不支持该号码所属的运营商。',
      'err.number_not_mobile': '这不是手机号码。',
      'err.subscriber_closed': '该号码已销户，无法充值。',
      'err.subscriber_suspended': '该号码已停机，暂时无法充值。',
      'err.otp_wrong': '验证码不正确。',
      'err.otp_expired': '验证码已失效，请重新获取。',
      'err.otp_attempts': '验证码错误次数过多，请重新获取。',
      'err.rate_limited': '操作过于频繁，请 {s} 秒后再试。',
      'err.rate_limited.plain': '操作过于频繁，请稍后再试。',
      'err.invalid_credentials': '手机号码或密码不正确。',
      'err.locked': '密码错误次数过多，密码登录已锁定 {m} 分钟。您可以使用验证码登录或重置密码。',
      'err.account_exists': '该号码已注册，请直接登录。',
      'err.weak_password': '密码需为 8 至 128 个字符，且不能全是数字。',
      'err.csrf_failed': '页面已过期，请刷新后重试。',
      'err.login_required': '请先登录。',
      'err.provider_unavailable': '该支付方式暂不可用，请选择其他支付方式。',
      'err.amount_not_offered': '该金额暂不可充值，请选择其他金额。',
      'err.product_unknown': '该充值面额已下架，请重新选择。',
      'err.busy': '系统繁忙，请稍后重试。',
      'err.required': '请填写此项。',
      'err.code.format': '请输入 6 位数字验证码。'
    },

    'en': {
      'brand': 'Mobile Top-up',
      'skip': 'Skip to main content',
      'lang.switch': '中文',
      'lang.switch.short': '中文',
      'lang.switch.label': '切换到中文',
      'nav.label': 'Account and language',
      'nav.login': 'Log in',
      'nav.register': 'Sign up',
      'nav.account': 'My account',
      'nav.logout': 'Log out',
      'nav.user': 'Logged in as {number}',
      'footer.note': 'Recharges are backed by the operator · payments are handled by licensed payment providers',
      'footer.help': 'Customer service 10086',

      'title.recharge': 'Mobile top-up',
      'title.login': 'Log in',
      'title.register': 'Create an account',
      'title.reset': 'Reset password',
      'title.account': 'My account',
      'title.order': 'Order result',
      'title.check': 'Receipt check',

      'recharge.heading': 'Mobile top-up',
      'recharge.lead': 'Enter a number, choose an amount, pay: the credit arrives at once.',
      'recharge.number': 'Mobile number',
      'recharge.number.hint': 'China Mobile, China Unicom and China Telecom numbers',
      'recharge.number.placeholder': 'Enter a mobile number',
      'recharge.lookup': 'Finding the operator…',
      'recharge.saved': 'Saved numbers',
      'recharge.own': 'Mine',
      'recharge.amount': 'Amount',
      'recharge.price': 'Price {price}',
      'recharge.custom': 'Other',
      'recharge.custom.tile': 'Any amount',
      'recharge.custom.label': 'Amount (yuan)',
      'recharge.custom.hint': '{min} to {max}, in steps of {step}',
      'recharge.confirm': 'Please confirm',
      'recharge.confirm.credit': 'Credit {amount}',
      'recharge.confirm.pay': 'To pay {amount}',
      'recharge.confirm.validity': 'Validity +{days} days',
      'recharge.method': 'Payment method',
      'method.sandbox': 'Sandbox',
      'method.sandbox.note': 'For testing; no real money moves',
      'method.alipay': 'Alipay',
      'method.alipay.note': 'Pay on Alipay’s page',
      'method.wechat': 'WeChat Pay',
      'method.wechat.note': 'Pay on WeChat Pay’s page',
      'method.card': 'Card',
      'method.card.note': 'Pay on the card checkout page',
      'recharge.pay': 'Pay {amount}',
      'recharge.pay.plain': 'Pay',
      'recharge.paying': 'Creating your order…',
      'recharge.redirecting': 'Taking you to the payment page…',
      'recharge.pending': 'You have an order that is not finished yet.',
      'recharge.pending.link': 'See its result',
      'recharge.choose.amount': 'Choose an amount',
      'recharge.number.incomplete': 'Enter the whole mobile number',
      'recharge.amount.invalid': 'Enter an amount from {min} to {max} in steps of {step}',
      'info.heading': 'How it works',
      'info.step1': 'Enter the number to recharge; we find its operator.',
      'info.step2': 'Choose the amount and check the number and amount.',
      'info.step3': 'Pay: the credit arrives at once and an SMS confirms it.',
      'info.account': 'With an account you can save numbers, see your recharges and download receipts.',
      'info.account.link': 'Sign up now',

      'login.heading': 'Log in',
      'login.tabs': 'How to log in',
      'login.tab.password': 'Password',
      'login.tab.code': 'SMS code',
      'login.submit': 'Log in',
      'login.forgot': 'Forgot your password?',
      'login.noaccount': 'No account yet?',
      'login.register': 'Sign up',
      'login.done': 'Logged in; one moment…',

      'register.heading': 'Create an account',
      'register.lead': 'Sign up with your mobile number to keep your numbers and recharges.',
      'register.submit': 'Sign up',
      'register.have': 'Already have an account?',
      'register.login': 'Log in',
      'register.done': 'Account created; one moment…',

      'reset.heading': 'Reset your password',
      'reset.lead': 'We will send a code to your mobile number.',
      'reset.submit': 'Reset password and log in',
      'reset.done': 'Password reset; one moment…',
      'reset.back': 'Back to log in',

      'field.msisdn': 'Mobile number',
      'field.password': 'Password',
      'field.password.new': 'Choose a password',
      'field.password.reset': 'New password',
      'field.password.hint': '8 to 128 characters, not only digits',
      'field.code': 'SMS code',
      'field.code.placeholder': '6 digits',
      'field.label': 'Name (optional)',
      'field.label.placeholder': 'e.g. Mum',
      'otp.send': 'Send code',
      'otp.resend': 'Resend ({s} s)',
      'otp.sent': 'If the number can receive SMS, a code is on its way; it is valid for 5 minutes.',
      'otp.need.number': 'Enter your mobile number first',
      'show.password': 'Show password',

      'account.heading': 'My account',
      'account.signed': 'Account',
      'account.numbers': 'My numbers',
      'account.numbers.none': 'No numbers yet.',
      'account.own': 'My number',
      'account.balance': 'Balance',
      'account.balance.none': 'No balance yet',
      'account.valid': 'Valid until {date}',
      'account.valid.none': 'Not active',
      'account.recharge': 'Top up',
      'account.remove': 'Remove',
      'account.remove.label': 'Remove the number {number}',
      'account.remove.confirm': 'Remove the number {number}?',
      'account.add': 'Save another number',
      'account.add.submit': 'Save number',
      'account.added': 'Number saved.',
      'account.removed': 'Number removed.',
      'account.history': 'Recharge history',
      'account.history.none': 'No recharges yet.',
      'account.col.time': 'Time',
      'account.col.number': 'Number',
      'account.col.amount': 'Amount',
      'account.col.status': 'Status',
      'account.col.actions': 'Actions',
      'account.details': 'Details',
      'account.receipt': 'Receipt',
      'account.logout': 'Log out',
      'account.more': 'Show more',

      'order.heading': 'Order result',
      'order.id': 'Order',
      'order.number': 'Number',
      'order.operator': 'Operator',
      'order.amount': 'Credit',
      'order.price': 'Paid',
      'order.method': 'Payment method',
      'order.trade': 'Reference',
      'order.created': 'Ordered',
      'order.balance': 'Balance now',
      'order.valid': 'Valid until',
      'order.receipt': 'Download the receipt (PDF)',
      'order.again': 'Top up again',
      'order.account': 'See my recharges',
      'order.continue': 'Continue to payment',
      'order.checking': 'Checking your order…',
      'order.notfound': 'This order cannot be found, or the link is incomplete.',
      'order.updated': 'Updates every 2 seconds',
      'status.created': 'Order created',
      'status.awaiting_payment': 'Waiting for payment',
      'status.paid': 'Paid; recharging',
      'status.submitted': 'Paid; recharging',
      'status.unknown': 'Confirming the recharge',
      'status.succeeded': 'Recharge successful',
      'status.failed': 'Recharge failed; refunding',
      'status.refunded': 'Refunded',
      'status.closed': 'Order closed',
      'status.sub.awaiting_payment': 'Finish paying on the payment page; this page updates by itself.',
      'status.sub.paid': 'Your payment is confirmed; the credit is on its way.',
      'status.sub.succeeded': 'The credit has arrived and an SMS was sent to the number.',
      'status.sub.failed': 'The number could not be recharged; your money goes back the way it came.',
      'status.sub.refunded': 'Your money went back the way it came.',
      'status.sub.closed': 'The order was not paid and is closed; nothing was charged.',
      'status.sub.unknown': 'One moment: we are confirming with the operator.',
      'badge.succeeded': 'Successful',
      'badge.closed': 'Closed',
      'badge.refunded': 'Refunded',
      'badge.failed': 'Failed',
      'badge.pending': 'In progress',
      'badge.awaiting_payment': 'Awaiting payment',

      'check.heading': 'Receipt check',
      'check.checking': 'Checking…',
      'check.genuine': 'This receipt is genuine',
      'check.genuine.sub': 'It was issued by this service and has not been altered.',
      'check.fake': 'This receipt cannot be verified',
      'check.fake.sub': 'It was not issued by this service, or the link is incomplete. ' +
        'Do not accept it as proof of payment.',
      'check.order': 'Order',
      'check.number': 'Number',
      'check.operator': 'Operator',
      'check.amount': 'Amount',
      'check.status': 'Status',
      'check.time': 'Ordered',

      'err.network': 'Cannot reach the server; please try again.',
      'err.generic': 'Something went wrong; please try again.',
      'err.invalid_number': 'This is not a valid mobile number; please check it.',
      'err.unknown_operator': 'We do not serve this number’s operator yet.',
      'err.number_not_mobile': 'This is not a mobile number.',
      'err.subscriber_closed': 'This number is closed and cannot be recharged.',
      'err.subscriber_suspended': 'This number is suspended and cannot be recharged now.',
      'err.otp_wrong': 'The code is not right.',
      'err.otp_expired': 'The code has expired; ask for a new one.',
      'err.otp_attempts': 'Too many wrong codes; ask for a new one.',
      'err.rate_limited': 'Too many tries; please wait {s} seconds.',
      'err.rate_limited.plain': 'Too many tries; please wait a moment.',
      'err.invalid_credentials': 'The number or the password is not right.',
      'err.locked': 'Too many wrong passwords: password log-in is locked for {m} minutes. ' +
        'You can log in with an SMS code or reset your password.',
      'err.account_exists': 'This number already has an account; please log in.',
      'err.weak_password': 'The password needs 8 to 128 characters and not only digits.',
      'err.csrf_failed': 'This page has expired; reload it and try again.',
      'err.login_required': 'Please log in first.',
      'err.provider_unavailable': 'This payment method is not available; please choose another.',
      'err.amount_not_offered': 'This amount is not available; please choose another.',
      'err.product_unknown': 'This amount is no longer offered; please choose again.',
      'err.busy': 'We are busy; please try again in a moment.',
      'err.required': 'Please fill this in.',
      'err.code.format': 'Enter the 6-digit code.'
    }
  };

  var SUPPORTED = ['zh-CN', 'en'];
  var listeners = [];

  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split(';') : [];
    for (var i = 0; i < parts.length; i++) {
      var item = parts[i].trim();
      var eq = item.indexOf('=');
      if (eq > 0 && item.slice(0, eq) === name) return decodeURIComponent(item.slice(eq + 1));
    }
    return null;
  }

  /* "zh", "zh-CN", "zh-Hans-CN", "zh-TW" all read Chinese (the only Chinese there is). */
  function normalise(tag) {
    if (!tag) return null;
    var lower = String(tag).toLowerCase();
    if (lower === 'zh' || lower.indexOf('zh-') === 0) return 'zh-CN';
    if (lower === 'en' || lower.indexOf('en-') === 0) return 'en';
    return null;
  }

  function chooseLanguage() {
    var chosen = normalise(readCookie('lang'));
    if (chosen) return chosen;
    var wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
    for (var i = 0; i < wanted.length; i++) {
      var found = normalise(wanted[i]);
      if (found) return found;
    }
    return 'en';
  }

  var current = chooseLanguage();

  function t(key, vars) {
    var text = TEXTS[current][key];
    if (text === undefined) text = TEXTS['zh-CN'][key];
    if (text === undefined) return key;
    if (vars) {
      text = text.replace(/\{(\w+)\}/g, function (whole, name) {
        return Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : whole;
      });
    }
    return text;
  }

  function has(key) {
    return Object.prototype.hasOwnProperty.call(TEXTS[current], key);
  }

  /* Fills every element marked with data-i18n (its text) or data-i18n-ATTR (that attribute). */
  function apply(root) {
    var scope = root || document;
    document.documentElement.lang = current;
    var marked = scope.querySelectorAll('[data-i18n]');
    for (var i = 0; i < marked.length; i++) marked[i].textContent = t(marked[i].getAttribute('data-i18n'));
    var attributes = ['placeholder', 'aria-label', 'title'];
    for (var a = 0; a < attributes.length; a++) {
      var name = attributes[a];
      var withAttribute = scope.querySelectorAll('[data-i18n-' + name + ']');
      for (var j = 0; j < withAttribute.length; j++) {
        withAttribute[j].setAttribute(name, t(withAttribute[j].getAttribute('data-i18n-' + name)));
      }
    }
    var title = document.querySelector('title[data-i18n]');
    if (title) document.title = t(title.getAttribute('data-i18n')) + ' · ' + t('brand');
  }

  function setLanguage(lang) {
    if (SUPPORTED.indexOf(lang) < 0 || lang === current) return;
    current = lang;
    document.cookie = 'lang=' + encodeURIComponent(lang) + '; Path=/; Max-Age=31536000; SameSite=Lax';
    apply(document);
    for (var i = 0; i < listeners.length; i++) listeners[i](lang);
  }

  /* Digits after the point of a currency (JPY 0, CNY 2, KWD 3), as Intl knows them. */
  function fractionDigits(currency) {
    try {
      return new Intl.NumberFormat('en', { style: 'currency', currency: currency }).resolvedOptions()
        .maximumFractionDigits;
    } catch (e) {
      return 2;
    }
  }

  /* Minor units to "¥50.00" (narrow symbol in both languages: ¥, not CN¥). whole: "¥50" when
   * there is nothing after the point. */
  function money(minor, currency, options) {
    var digits = fractionDigits(currency);
    var value = Number(minor) / Math.pow(10, digits);
    var whole = options && options.whole && Number(minor) % Math.pow(10, digits) === 0;
    try {
      return new Intl.NumberFormat(current, {
        style: 'currency',
        currency: currency,
        currencyDisplay: 'narrowSymbol',
        minimumFractionDigits: whole ? 0 : digits,
        maximumFractionDigits: digits
      }).format(value);
    } catch (e) {
      return currency + ' ' + value.toFixed(digits);
    }
  }

  function toDate(value) {
    var date = value instanceof Date ? value : new Date(value);
    return isNaN(date.getTime()) ? null : date;
  }

  /* options.short: "Nov 26, 2026" rather than "November 26, 2026" (the same in Chinese). */
  function date(value, options) {
    var d = toDate(value);
    var month = options && options.short ? 'short' : 'long';
    return d ? new Intl.DateTimeFormat(current, { year: 'numeric', month: month, day: 'numeric' }).format(d) : '';
  }

  function time(value) {
    var d = toDate(value);
    return d ? new Intl.DateTimeFormat(current, { hour: '2-digit', minute: '2-digit' }).format(d) : '';
  }

  function dateTime(value) {
    var d = toDate(value);
    if (!d) return '';
    return new Intl.DateTimeFormat(current, {
      year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit'
    }).format(d);
  }

  /* Operators are named "China Mobile 中国移动": each language keeps its own half. */
  function operatorName(name) {
    if (!name) return '';
    var match = /^(.*?[A-Za-z].*?)\s+([\u3400-\u9fff].*)$/.exec(String(name));
    if (!match) return String(name);
    return current === 'zh-CN' ? match[2] : match[1];
  }

  window.I18n = {
    t: t,
    has: has,
    apply: apply,
    get lang() {
      return current;
    },
    setLanguage: setLanguage,
    onChange: function (listener) {
      listeners.push(listener);
    },
    money: money,
    fractionDigits: fractionDigits,
    date: date,
    time: time,
    dateTime: dateTime,
    operatorName: operatorName,
    readCookie: readCookie
  };
})();
