@NullMarked
package org.anf.anchor.tls;

import org.jspecify.annotations.NullMarked;
