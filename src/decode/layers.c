/* The layers' names, generated from layers.tab with their enum. */
#include <stddef.h>

#include "packet.h"
#include "layer_names.h"

const char *layer_name(enum dpl_layer_id id)
{
	return id > 0 && id < DPL_LAYER_COUNT ? layer_names[id] : NULL;
}

const char *const *layer_name_table(void)
{
	return layer_names;
}
