@NullMarked
package org.anf.resolver.transport;

import org.jspecify.annotations.NullMarked;
