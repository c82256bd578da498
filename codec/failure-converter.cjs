// Loaded by path (require) into the Temporal clients, the worker and its workflow sandbox: encodes
// failure messages and stack traces so the payload codec encrypts them. CommonJS because the SDK
// loads failureConverterPath with require().
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
