#ifndef CTEMOIN_OPUS_H
#define CTEMOIN_OPUS_H
#include <opus.h>
#endif
