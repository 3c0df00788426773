// caf-stream inside an actor application: sensor actors feed an actor
// stream, a window averages each sensor's readings over the last 3 s every
// second, and a dashboard actor receives every window's averages.
//
//   actor_pipeline [--sensors N] [--seconds N]
//
// The sensors `request` each reading, so the stream's rate limit and
// backpressure pace them. Stops after --seconds N (default 10; 0: runs until
// killed).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"

#include "caf_stream/actor_stream.hpp"
#include "caf_stream/all.hpp"

#include "example_support.hpp"

namespace {

using reading = std::pair<std::string, double>;

struct config : example_config {
  int sensors = 3;
  config() {
    seconds = 10;
    opt_group{custom_options_, "global"}.add(sensors, "sensors",
                                             "number of sensor actors");
  }
};

using tick_atom = caf::atom_constant<caf::atom("tick")>;

// Sends a reading every 100 ms and waits for the stream to store it.
caf::behavior sensor(caf::event_based_actor* self, std::string name,
                     double phase, caf::actor stream) {
  self->send(self, tick_atom::value);
  return {
    [=](tick_atom) {
      auto t = std::chrono::steady_clock::now().time_since_epoch();
      auto s = std::chrono::duration<double>(t).count();
      auto value = 20.0 + 5.0 * std::sin(s / 4 + phase);
      self->request(stream, caf::infinite, reading{name, value})
        .await([=](uint64_t) {
          self->delayed_send(self, std::chrono::milliseconds(100),
                             tick_atom::value);
        });
    },
  };
}

// Prints each window's averages.
caf::behavior dashboard(caf::event_based_actor*) {
  return {
    [](caf_stream::time t, std::vector<reading>& averages) {
      std::sort(averages.begin(), averages.end());
      std::cout << "window ending at " << t.milliseconds() << " ms:";
      for (auto& [name, avg] : averages)
        std::cout << ' ' << name << '=' << std::fixed << std::setprecision(2)
                  << avg;
      std::cout << std::endl;
    },
  };
}

} // namespace

int main(int argc, char** argv) {
  const char* usage = "actor_pipeline [--sensors N] [--seconds N]";
  config cfg;
  if (!parse_args(cfg, argc, argv, usage))
    return cfg.cli_helptext_printed ? 0 : 1;
  if (cfg.sensors < 1) {
    std::cerr << "error: option --sensors must be 1 or more, not "
              << cfg.sensors << "\nusage: " << usage << '\n';
    return 1;
  }
  try {
    caf::actor_system sys{cfg};
    caf_stream::streaming_context ssc{sys, std::chrono::seconds(1)};
    auto [readings, handle] = ssc.actor_stream<reading>("sensors");
    using sum = std::pair<double, int64_t>;
    auto averages
      = readings
          .map([](const reading& r) {
            return std::make_pair(r.first, sum{r.second, 1});
          })
          .reduce_by_key_and_window(
            [](sum a, sum b) {
              return sum{a.first + b.first, a.second + b.second};
            },
            std::chrono::seconds(3), std::chrono::seconds(1))
          .map([](const std::pair<std::string, sum>& x) {
            return reading{x.first, x.second.first / x.second.second};
          });
    std::vector<caf::actor> actors{sys.spawn(dashboard)};
    averages.send_to(actors.front());
    for (int i = 0; i < cfg.sensors; ++i)
      actors.push_back(
        sys.spawn(sensor, "sensor-" + std::to_string(i + 1), i * 1.0, handle));
    ssc.start();
    auto status = run_for(ssc, cfg.seconds);
    // The application's actors end before its actor system does.
    for (auto& a : actors)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    return status;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
}
