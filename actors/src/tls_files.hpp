#pragma once

#include "caf/fwd.hpp"

namespace caf_stream::actors {

/// Loads the TLS files that `openssl.*` name into a TLS context as CAF
/// 0.17's does for each connection (the certificate chain, the private key
/// with `openssl.passphrase`, the trusted CAs), so that a missing or bad
/// file fails at start instead of at the first connection, where CAF throws
/// in its I/O thread and ends the program. With any of these keys set, the
/// certificate, its key and a CA (`openssl.cafile` or `.capath`) must all
/// be: CAF then requires a certificate from both sides. Throws
/// `stream_error` (`invalid_config`) naming the key.
void check_tls_files(const caf::actor_system_config& cfg);

} // namespace caf_stream::actors
