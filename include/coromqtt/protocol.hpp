// The sans-I/O MQTT codec: everything in coromqtt::protocol.
#pragma once

#include <coromqtt/protocol/codec.hpp>
#include <coromqtt/protocol/error.hpp>
#include <coromqtt/protocol/packets.hpp>
#include <coromqtt/protocol/properties.hpp>
#include <coromqtt/protocol/reason_code.hpp>
#include <coromqtt/protocol/topic.hpp>
#include <coromqtt/protocol/types.hpp>
#include <coromqtt/protocol/utf8.hpp>
