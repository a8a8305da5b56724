@NullMarked
package org.anf.anchor.rpc;

import org.jspecify.annotations.NullMarked;
