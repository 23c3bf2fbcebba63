#ifndef CTEMOIN_OGG_H
#define CTEMOIN_OGG_H
#include <ogg/ogg.h>
#endif
