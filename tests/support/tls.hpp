#pragma once

#include <string>

#include "caf/actor_system_config.hpp"

namespace support {

/// Makes `cfg` present the certificate `name` ("DIR/NAME": DIR/NAME.pem, its
/// key DIR/NAME.key) and trust the CA DIR/ca.pem, as the TLS tests' files
/// are laid out.
inline void use_certificate(caf::actor_system_config& cfg,
                            const std::string& name) {
  cfg.openssl_certificate = name + ".pem";
  cfg.openssl_key = name + ".key";
  cfg.openssl_cafile = name.substr(0, name.rfind('/')) + "/ca.pem";
}

} // namespace support
