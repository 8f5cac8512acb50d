import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERRORS, type ErrorCode } from '../errors.js';

/** Node's HTTP parser errors that have their own answer; any other is 400 `invalid_request`. */
const PARSER_ERRORS: Readonly<Record<string, ErrorCode>> = {
  ERR_HTTP_REQUEST_TIMEOUT: 'request_timeout',
  HPE_HEADER_OVERFLOW: 'headers_too_large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'payload_too_large',
};

/**
 * A whole HTTP/1.1 error response in the server's JSON shape, to write straight onto a socket: for
 * the errors Node raises before (or instead of) handing Express a request. Closes the connection.
 *
 * @example socket.end(rawErrorResponse('request_timeout'));
 */
export function rawErrorResponse(code: ErrorCode): string {
  const { status, description } = ERRORS[code];
  const body = JSON.stringify({ error: code, error_description: description });
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    'X-Content-Type-Options: nosniff',
    '',
    body,
  ].join('\r\n');
}

/**
 * Answers an HTTP server's `clientError` the way Node does by default, but with a JSON body: a request
 * not fully received within `requestTimeout` (headers and body) gets 408 `request_timeout`, oversized
 * headers 431, malformed HTTP 400; then the socket is destroyed. Nothing is written when the peer is
 * gone or a response has already begun on the connection.
 *
 * @param responding - Whether a response has already started on this connection.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, responding: boolean): void {
  if (error.code !== 'ECONNRESET' && socket.writable && !responding) {
    socket.write(rawErrorResponse(PARSER_ERRORS[error.code ?? ''] ?? 'invalid_request'));
  }
  socket.destroy();
}
