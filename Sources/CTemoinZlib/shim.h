#ifndef CTEMOIN_ZLIB_H
#define CTEMOIN_ZLIB_H
#include <zlib.h>
#endif
