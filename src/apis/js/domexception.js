// domexception.js — the `domexception` group (a dependency of others): DOMException per
// WebIDL, with the legacy code numbers. Evaluates to a function(globalThis) returning the
// group's globals; the engine runs it on first use.
(function (global) {
  'use strict';
  const legacyCodes = {
    IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
    NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11,
    SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
    TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
    QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
  };
  const constants = [
    'INDEX_SIZE_ERR', 'DOMSTRING_SIZE_ERR', 'HIERARCHY_REQUEST_ERR', 'WRONG_DOCUMENT_ERR',
    'INVALID_CHARACTER_ERR', 'NO_DATA_ALLOWED_ERR', 'NO_MODIFICATION_ALLOWED_ERR', 'NOT_FOUND_ERR',
    'NOT_SUPPORTED_ERR', 'INUSE_ATTRIBUTE_ERR', 'INVALID_STATE_ERR', 'SYNTAX_ERR',
    'INVALID_MODIFICATION_ERR', 'NAMESPACE_ERR', 'INVALID_ACCESS_ERR', 'VALIDATION_ERR',
    'TYPE_MISMATCH_ERR', 'SECURITY_ERR', 'NETWORK_ERR', 'ABORT_ERR', 'URL_MISMATCH_ERR',
    'QUOTA_EXCEEDED_ERR', 'TIMEOUT_ERR', 'INVALID_NODE_TYPE_ERR', 'DATA_CLONE_ERR',
  ];
  class DOMException extends Error {
    #name;
    #message;
    constructor(message = '', name = 'Error') {
      super();
      this.#message = String(message);
      this.#name = String(name);
      delete this.message; // Error() defined an own one; DOMException's lives on the prototype
    }
    get name() { return this.#name; }
    get message() { return this.#message; }
    get code() { return legacyCodes[this.#name] || 0; }
  }
  constants.forEach((constant, i) => {
    const descriptor = { value: i + 1, enumerable: true };
    Object.defineProperty(DOMException, constant, descriptor);
    Object.defineProperty(DOMException.prototype, constant, descriptor);
  });
  return { DOMException };
})
