#include "temoin_shim.h"

// OPUS_SET_BITRATE: variadic ctl with a macro request.
int temoin_opus_set_bitrate(OpusEncoder *encoder, opus_int32 bits_per_second) {
    return opus_encoder_ctl(encoder, OPUS_SET_BITRATE(bits_per_second));
}

// OPUS_SET_COMPLEXITY: variadic ctl with a macro request.
int temoin_opus_set_complexity(OpusEncoder *encoder, opus_int32 complexity) {
    return opus_encoder_ctl(encoder, OPUS_SET_COMPLEXITY(complexity));
}

// OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE): variadic ctl with macro request and value.
int temoin_opus_set_signal_voice(OpusEncoder *encoder) {
    return opus_encoder_ctl(encoder, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
}

// OPUS_SET_VBR: variadic ctl with a macro request.
int temoin_opus_set_vbr(OpusEncoder *encoder, opus_int32 enabled) {
    return opus_encoder_ctl(encoder, OPUS_SET_VBR(enabled));
}

// OPUS_GET_LOOKAHEAD: variadic ctl with a macro request (pre-skip of the stream).
int temoin_opus_get_lookahead(OpusEncoder *encoder, opus_int32 *samples) {
    return opus_encoder_ctl(encoder, OPUS_GET_LOOKAHEAD(samples));
}

// OPUS_GET_FINAL_RANGE: variadic ctl with a macro request (tests compare encoder states).
int temoin_opus_get_final_range(OpusEncoder *encoder, opus_uint32 *range) {
    return opus_encoder_ctl(encoder, OPUS_GET_FINAL_RANGE(range));
}
