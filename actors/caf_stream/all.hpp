#pragma once

/// Everything a caf-stream program needs: the context, streams, RDDs,
/// receivers, listeners, the direct Kafka stream and the database sinks.

#include "caf_stream/clock.hpp"
#include "caf_stream/config.hpp"
#include "caf_stream/dstream.hpp"
#include "caf_stream/duration.hpp"
#include "caf_stream/error.hpp"
#include "caf_stream/hash.hpp"
#include "caf_stream/kafka.hpp"
#include "caf_stream/rdd/rdd.hpp"
#include "caf_stream/receiver/receiver.hpp"
#include "caf_stream/scheduler/batch_info.hpp"
#include "caf_stream/scheduler/streaming_listener.hpp"
#include "caf_stream/shutdown_hook.hpp"
#include "caf_stream/sinks/postgresql.hpp"
#include "caf_stream/sinks/sqlite.hpp"
#include "caf_stream/state_spec.hpp"
#include "caf_stream/streaming_context.hpp"
#include "caf_stream/text.hpp"
#include "caf_stream/time.hpp"
