# Generates, from layers.tab, the enum of layer ids (-v what=enum) or the
# table of their names (-v what=names). Run by the Makefile.
!/^#/ && NF == 2 { n++; c[n] = $1; s[n] = $2 }
END {
	print "/* Generated from src/decode/layers.tab by the Makefile. */"
	if (what == "enum") {
		print "enum dpl_layer_id {"
		for (i = 1; i <= n; i++)
			printf "\tDPL_%s%s,\n", c[i], i == 1 ? " = 1" : ""
		print "\tDPL_LAYER_COUNT"
		print "};"
	} else {
		print "static const char *const layer_names[DPL_LAYER_COUNT] = {"
		print "\tNULL,"
		for (i = 1; i <= n; i++)
			printf "\t\"%s\",\n", s[i]
		print "};"
	}
}
