// The package through `require`, in a project whose package.json says "type": "commonjs".
'use strict';

const defineBehaviourTests = require('./behaviour.cjs');

defineBehaviourTests(require('aether-eventstore'), 'cjs');
