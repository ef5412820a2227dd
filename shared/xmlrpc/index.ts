// The XML-RPC layer in one import: codec, server, client and the value types.

export * from "./types.js";
export {
  decodeMethodCall,
  decodeMethodResponse,
  DEFAULT_MAX_DEPTH,
  type DecodeOptions,
  type MethodCall,
  type MethodResponse,
} from "./decode.js";
export { encodeFault, encodeMethodCall, encodeMethodResponse, encodeValue, escapeXml } from "./encode.js";
export { formatDateTime, parseDateTime } from "./datetime.js";
export {
  createXmlRpcHandler,
  createXmlRpcServer,
  INVALID_CALL,
  UNKNOWN_METHOD,
  type CallOutcome,
  type XmlRpcServerOptions,
} from "./server.js";
export { XmlRpcClient, XmlRpcProtocolError, type XmlRpcClientOptions } from "./client.js";
