@NullMarked
package org.anf.anchor.metrics;

import org.jspecify.annotations.NullMarked;
