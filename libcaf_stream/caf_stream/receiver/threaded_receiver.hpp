#pragma once

#include <exception>
#include <string>
#include <thread>

#include "caf_stream/receiver/receiver.hpp"

namespace caf_stream {

/// A receiver that receives on a thread of its own (the usual shape of a
/// connector's receiver): `on_start` starts the thread running `receive`,
/// `on_stop` waits for it to end. An exception that `receive` lets out
/// (`store` that could not store, say) restarts the receiver with its
/// message, as `restart` would, instead of ending the program.
template <class T>
class threaded_receiver : public receiver<T> {
public:
  void on_start() final {
    thread_ = std::thread{[this] {
      try {
        receive();
      } catch (const std::exception& e) {
        this->restart(std::string{"the receiving thread failed: "}
                      + e.what());
      } catch (...) {
        this->restart("the receiving thread failed: an exception that is "
                      "not a std::exception");
      }
    }};
  }

  void on_stop() final {
    join();
  }

protected:
  /// Receives and stores until `is_stopped()` turns true (checked at least
  /// every 100 ms or so, for a prompt stop), or until it called `restart`
  /// or `stop`.
  virtual void receive() = 0;

  /// Waits for the thread to end. A derived class calls it in its
  /// destructor, so that its members outlive the thread.
  void join() {
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id())
      thread_.join();
  }

private:
  std::thread thread_;
};

} // namespace caf_stream
