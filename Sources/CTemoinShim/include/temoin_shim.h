#ifndef TEMOIN_SHIM_H
#define TEMOIN_SHIM_H
// What Swift cannot call in libopus: opus_encoder_ctl is variadic and its requests are macros.
// One non-variadic function per setting; each returns libopus's status code.
#include <opus.h>

int temoin_opus_set_bitrate(OpusEncoder *encoder, opus_int32 bits_per_second);
int temoin_opus_set_complexity(OpusEncoder *encoder, opus_int32 complexity);
int temoin_opus_set_signal_voice(OpusEncoder *encoder);
int temoin_opus_set_vbr(OpusEncoder *encoder, opus_int32 enabled);
int temoin_opus_get_lookahead(OpusEncoder *encoder, opus_int32 *samples);
int temoin_opus_get_final_range(OpusEncoder *encoder, opus_uint32 *range);
#endif
