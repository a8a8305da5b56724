/** The resolver process: resolver service, DNS gateway and legacy DNS fallback together. */
@NullMarked
package org.anf.anchor.gateway;

import org.jspecify.annotations.NullMarked;
