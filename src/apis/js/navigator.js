// navigator.js — the `navigator` group (in the default set): the `navigator` object that
// libraries probe, saying what the host is. userAgent is "jspool/<version>";
// hardwareConcurrency is 1, because a context's JS (its timers, messages and Workers
// included) runs on one runtime thread: the host's CPU count would be both wrong for
// sizing a pool of workers and a fact about the operator's machine a tenant need not
// learn; language is "en-US" (languages ["en-US"]), onLine true. navigator.locks comes
// from the `locks` group, only in contexts that asked for it.
(function (global, natives, dependency) {
  'use strict';
  const internal = Symbol('internal');
  const userAgent = natives.userAgent;
  const languages = Object.freeze(['en-US']);

  class Navigator {
    constructor(token) {
      if (token !== internal) throw new TypeError('Illegal constructor');
    }
    get userAgent() { return userAgent; }
    get appName() { return 'jspool'; }
    get appVersion() { return userAgent.slice(7); }
    get platform() { return ''; }
    get product() { return 'jspool'; }
    get hardwareConcurrency() { return 1; }
    get language() { return 'en-US'; }
    get languages() { return languages; }
    get onLine() { return true; }
  }
  if (natives.hasLocks)
    Object.defineProperty(Navigator.prototype, 'locks', {
      get() { return dependency('locks').locks; }, enumerable: true, configurable: true,
    });
  Object.defineProperty(Navigator.prototype, Symbol.toStringTag, { value: 'Navigator', configurable: true });

  return { navigator: new Navigator(internal), Navigator };
})
