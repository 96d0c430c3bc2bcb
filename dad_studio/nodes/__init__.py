"""dad_studio.nodes"""
