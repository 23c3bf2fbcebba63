#ifndef CTEMOIN_SOXR_H
#define CTEMOIN_SOXR_H
#include <soxr.h>
#endif
