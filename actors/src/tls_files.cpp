#include "tls_files.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "caf/actor_system_config.hpp"

#include "caf_stream/detail/bad_value.hpp"
#include "caf_stream/error.hpp"

namespace caf_stream::actors {

namespace {

[[noreturn]] void refuse(const std::string& what) {
  throw stream_error(errc::invalid_config, what);
}

// OpenSSL's reasons for the last failure, emptying its error queue.
std::string openssl_errors() {
  std::string result;
  while (auto code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    result += (result.empty() ? "" : "; ") + std::string{buf};
  }
  return result.empty() ? "no reason given" : result;
}

[[noreturn]] void cannot_load(const char* key, const std::string& path) {
  detail::bad_value(key, path, "cannot load it (" + openssl_errors() + ")");
}

int passphrase_of(char* buf, int size, int, void* passphrase) {
  if (size <= 0)
    return 0;
  auto n = std::min(std::strlen(static_cast<const char*>(passphrase)),
                    static_cast<size_t>(size - 1));
  std::memcpy(buf, passphrase, n);
  buf[n] = '\0';
  return static_cast<int>(n);
}

} // namespace

void check_tls_files(const caf::actor_system_config& cfg) {
  const auto& cert = cfg.openssl_certificate;
  const auto& key = cfg.openssl_key;
  const auto& cafile = cfg.openssl_cafile;
  const auto& capath = cfg.openssl_capath;
  if (cert.empty() && key.empty() && cafile.empty() && capath.empty()
      && cfg.openssl_passphrase.empty())
    return;
  if (cert.empty())
    refuse("openssl.certificate is missing: with openssl.* set, nodes talk "
           "TLS and each presents its certificate");
  if (key.empty())
    refuse("openssl.key is missing: the private key of openssl.certificate "
           + cert);
  if (cafile.empty() && capath.empty())
    refuse("openssl.cafile is missing: a node accepts the peers whose "
           "certificate a CA in openssl.cafile (or the directory "
           "openssl.capath) signed");
  // The callback reads it as long as the context lives.
  auto passphrase = cfg.openssl_passphrase;
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{
    SSL_CTX_new(TLS_method()), &SSL_CTX_free};
  if (!ctx)
    refuse("cannot make a TLS context (" + openssl_errors() + ")");
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1)
    cannot_load("openssl.certificate", cert);
  SSL_CTX_set_default_passwd_cb(ctx.get(), passphrase_of);
  SSL_CTX_set_default_passwd_cb_userdata(ctx.get(), passphrase.data());
  // OpenSSL refuses a key that does not belong to the certificate.
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM)
      != 1)
    cannot_load("openssl.key", key);
  auto file = cafile.empty() ? nullptr : cafile.c_str();
  auto dir = capath.empty() ? nullptr : capath.c_str();
  if (SSL_CTX_load_verify_locations(ctx.get(), file, dir) != 1)
    cannot_load(file ? "openssl.cafile" : "openssl.capath",
                file ? cafile : capath);
}

} // namespace caf_stream::actors
