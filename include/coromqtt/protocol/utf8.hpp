// UTF-8 Encoded Strings [MQTT-1.5.4].
#pragma once

#include <string_view>
#include <system_error>

namespace coromqtt::protocol {

// Well-formed UTF-8 (RFC 3629: no overlong forms, no code points above U+10FFFF), no surrogates U+D800..U+DFFF
// [MQTT-1.5.4-1] and no U+0000 [MQTT-1.5.4-2]. Returns error::invalid_utf8, error::utf8_null_character or
// success. A BOM (U+FEFF) is an ordinary character and is kept [MQTT-1.5.4-3].
std::error_code validate_utf8(std::string_view) noexcept;

}  // namespace coromqtt::protocol
